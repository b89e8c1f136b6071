#!/bin/bash
# Issue 15, round 15: the declared test run of r15-own-lengths
# (benchmarks/accuracy_search.py), seeds 0-2: round 13's default with each
# series of a variable-length dataset read at its own length
# (unequal_lengths="own"), and its delta = 0 twin (round 13's
# probe_stretched_apart with the same reading). Declared with the CV row,
# before either ran; it runs only if the CV rule there fires, and is reported
# whatever it scores. The options are explicit so that the rows keep their
# meaning if the default changes. Every row but the V2S rows of PLAID and
# PickupGestureWiimoteZ (the two variable-length datasets) is copied from
# bench_offline_round13/results.csv: on the other eight, whose series share
# one length, the option changes nothing (tests/test_series_input.py), and the
# bench resumes their rows (benchmark.ONE_LENGTH_INDIFFERENT). So the bench
# fits V2S on PLAID and PickupGestureWiimoteZ only.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round15
copy_rows benchmarks/results/bench_offline_round13/results.csv $OUT PLAID PickupGestureWiimoteZ
offline_bench_named $OUT own_lengths --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 \
    --views series+diff --refit-head true --time-scales 1+4 --program-scales 4 --stretched-window-hop 1.0 \
    --unequal-lengths own
offline_bench_named $OUT probe_own_lengths --seeds 3 --max-epochs 0 --head-init logistic --no-train-program \
    --views series+diff --time-scales 1+4 --stretched-window-hop 1.0 --unequal-lengths own
echo "== done $(date)"
