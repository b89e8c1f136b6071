#!/bin/bash
# Issue 15, round 10: the declared test run of r10-probe-scales
# (benchmarks/accuracy_search.py), the 10 bundled datasets, seeds 0-2.
# Its CV rule fired (0.837 against r7-probe-diff's 0.821, 2026-12-07, CV
# seed 0), so it is the preset "probe-scales" (not V2S: delta = 0, the head
# fitted once): the probe on the series and its first difference, each also
# stretched 4 times (time_scales="1+4"). Its comparison without the
# stretched views is round 7's probe_diff (bench_offline_round7/report_probe_diff.md).
# Committed before it ran, so the test result chooses nothing. Baseline rows
# are copied from bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round10
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT probe_scales --seeds 3 --max-epochs 0 --head-init logistic --no-train-program \
    --views series+diff --time-scales 1+4
echo "== done $(date)"
