#!/bin/bash
# Issue 15, round 13: the declared test run of r13-stretched-apart
# (benchmarks/accuracy_search.py), the 10 bundled datasets, seeds 0-2: round
# 12's default (programs trained on the members stretched 4 times) with the
# stretched copies' windows end to end (stretched_window_hop=1.0, about half
# their source passes), and its delta = 0 twin (the "probe-scales" probe with
# the same layout). Declared with the CV row, before either ran; it runs only
# if the CV rule there fires, and is reported whatever it scores. The
# options are explicit so that the rows keep their meaning if the default
# changes. Baseline rows are copied from bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round13
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT stretched_apart --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 \
    --views series+diff --refit-head true --time-scales 1+4 --program-scales 4 --stretched-window-hop 1.0
offline_bench_named $OUT probe_stretched_apart --seeds 3 --max-epochs 0 --head-init logistic --no-train-program \
    --views series+diff --time-scales 1+4 --stretched-window-hop 1.0
echo "== done $(date)"
