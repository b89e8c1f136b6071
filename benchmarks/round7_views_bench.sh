#!/bin/bash
# Issue 15, round 7: the declared test runs of r7-probe-diff and
# r7-program-diff (benchmarks/accuracy_search.py), the 10 bundled datasets,
# seeds 0-2. Both read the series and its first difference
# (views="series+diff"). First the probe (delta = 0, head fitted once; its
# twin without the difference is round 4's probe,
# bench_offline_round4/report_probe.md), then the program trained against
# that probe's fixed head (30 epochs at most, the start a candidate epoch;
# its twin is the first run). Declared with the CV rows and run whatever the
# CV says, so the test result chooses nothing; committed before it ran.
# Baseline rows are copied from bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round7
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT probe_diff --seeds 3 --max-epochs 0 --head-init logistic --no-train-program --views series+diff
offline_bench_named $OUT program_diff --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 \
    --views series+diff
echo "== done $(date)"
