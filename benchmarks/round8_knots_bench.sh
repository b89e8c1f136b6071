#!/bin/bash
# Issue 15, round 8, second: the declared test run of r8-program-knots
# (benchmarks/accuracy_search.py), the 10 bundled datasets, seeds 0-2: the
# round-7 default with a program of one learnable value every 32 samples,
# linearly interpolated (program_knot_spacing=32). Declared with its CV row,
# to be run only if that row's CV mean is above its delta = 0 twin's
# (r7-probe-diff, 0.821), so the test result chooses nothing; committed
# before it ran. Its twin's test rows are round 7's
# (bench_offline_round7/report_probe_diff.md). Baseline rows are copied from
# bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round8_knots
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT program_knots --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 \
    --views series+diff --program-knot-spacing 32
echo "== done $(date)"
