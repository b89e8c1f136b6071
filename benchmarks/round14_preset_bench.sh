#!/bin/bash
# Issue 15, round 14: the declared test run of r14-program-scales-apart
# (benchmarks/accuracy_search.py), the 10 bundled datasets, seeds 0-2: the
# "program-scales" preset (a program trained in every waveform) with the
# stretched copies' windows end to end (stretched_window_hop=1.0). Declared
# with the CV row, before either ran; it runs only if the CV rule there
# fires, and is reported whatever it scores. Its delta = 0 twin is the same
# computation as round 13's probe_stretched_apart rows
# (bench_offline_round13), so it is not run again. The options are explicit
# so that the rows keep their meaning if the default changes. Baseline rows
# are copied from bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round14
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT program_scales_apart --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 \
    --views series+diff --refit-head true --time-scales 1+4 --program-scales all --stretched-window-hop 1.0
echo "== done $(date)"
