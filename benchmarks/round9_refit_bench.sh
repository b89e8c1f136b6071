#!/bin/bash
# Issue 15, round 9: the declared test runs of refit_head
# (benchmarks/accuracy_search.py, rows r9-*), the 10 bundled datasets, seeds
# 0-2, committed before they ran and run whatever CV says, so the test result
# chooses nothing.
# - program_refit_auto: the round-7 default with refit_head="auto": the head
#   refitted on every training series through the kept program where a
#   validation split was held out (OSULeaf and PLAID, 200+ training series);
#   elsewhere the same model as the default, which the rows must show.
# - program_refit_always: the default with refit_head=True, the head refitted
#   through the trained program on every dataset.
# Their delta = 0 twin's test rows are round 7's
# (bench_offline_round7/report_probe_diff.md). Baseline rows are copied from
# bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round9
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
DEFAULT="--seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 --views series+diff"
# shellcheck disable=SC2086
offline_bench_named $OUT program_refit_auto $DEFAULT --refit-head auto
# shellcheck disable=SC2086
offline_bench_named $OUT program_refit_always $DEFAULT --refit-head true
echo "== done $(date)"
