#!/bin/bash
# Issue 15, round 7, second: the declared test run of r7-probe-full-diff
# (benchmarks/accuracy_search.py): the probe (delta = 0) on CREPE-full's inner
# statistics of the series and of its first difference, the 10 bundled
# datasets, seed 0 only (about 50 CPU-minutes per seed here). Its twin without
# the difference is round 4's CREPE-full probe
# (bench_offline_round4/report_probe-full.md, seeds 0-2). Declared with its CV
# row and run whatever the CV says; committed before it ran. Baseline rows
# are copied from bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round7_full
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT probe_full_diff --seeds 1 --source crepe-full --max-epochs 0 --head-init logistic \
    --no-train-program --views series+diff
echo "== done $(date)"
