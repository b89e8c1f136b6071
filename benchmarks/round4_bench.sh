#!/bin/bash
# Issue 15, round 4: the declared test runs of the delta = 0 probes that 5-fold CV
# on the training splits ranked at or above the trained default
# (benchmarks/accuracy_search.py, r4-probe 0.787, r4-probe-full 0.796,
# r4-probe-joint-full 0.796; the default at 30 epochs 0.775). Committed before
# it ran. None of them is V2S: no program is trained; they are the baseline a
# trained program has to beat. Baseline rows are copied from
# bench_offline_round3/results.csv beforehand (their keys do not depend on V2S
# parameters), so the bench resumes them; each configuration's report is moved
# to report_<name>.md after its run.
# Run from anywhere: offline_bench.sh moves to the repository root.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round4
PROBE="--max-epochs 0 --head-init logistic --no-train-program"
run() {
    local name=$1
    shift
    echo "== $name seeds 0-2 $(date)"
    offline_bench $OUT --seeds 3 "$@" && mv $OUT/report.md $OUT/report_$name.md
}
run probe --preset probe
run probe-full $PROBE --source crepe-full
run probe-joint-full $PROBE --source crepe-tiny+crepe-full
echo "== done $(date)"
