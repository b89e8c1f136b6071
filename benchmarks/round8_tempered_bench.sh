#!/bin/bash
# Issue 15, round 8: the declared test run of r8-program-tempered
# (benchmarks/accuracy_search.py), the 10 bundled datasets, seeds 0-2: the
# default of round 7 (the program trained against the probe's fixed head, on
# the series and its first difference) with its training loss tempered
# (program_loss="tempered"). Its delta = 0 twin is round 7's probe on both
# views (bench_offline_round7/report_probe_diff.md: same readout, views,
# penalty search and seeds). Declared with the CV row and run whatever the CV
# says, so the test result chooses nothing; committed before it ran.
# Baseline rows are copied from bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round8
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT program_tempered --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 \
    --views series+diff --program-loss tempered
echo "== done $(date)"
