#!/bin/bash
# Issue 15, round 11: the declared test run of r11-program-fixed-scales
# (benchmarks/accuracy_search.py), the 10 bundled datasets, seeds 0-2: the
# round-9 default (V2S, trained program, refitted head) with time_scales="1+4"
# and program_scales="1" (the stretched views read with delta = 0, their
# outputs computed once per fit). Run only if its CV rule fired (CV mean
# above r9-refit-always's 0.833 by more than 0.01, and its GunPoint fit at
# most 2x round 1's default in benchmarks/preset_cost.py), as the new
# default. Committed before it ran, so the test result chooses nothing. The
# options are explicit so that the rows keep their meaning if a default
# changes. Its delta = 0 twin's test rows are "probe-scales"'
# (bench_offline_round10/report_probe_scales.md: same readout, views,
# scales, penalty search and seeds). Baseline rows are copied from
# bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round11
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT program_fixed_scales --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 \
    --views series+diff --refit-head true --time-scales 1+4 --program-scales 1
echo "== done $(date)"
