#!/bin/bash
# Issue 15, round 5: the declared test run of r4-probe-program (V2S: the head
# starts at the logistic probe and stays there, head_learning_rate=0, while
# the program trains for 30 epochs) with the start kept as a candidate epoch
# under early stopping (train_model(keep_start=...), built after round 4's
# run of the same parameters lost PLAID to the probe by 0.149).
# keep_start acts only where early stopping holds out a validation split
# (early_stopping="auto": 200 or more training series): OSULeaf (200) and
# PLAID (537) of the 10. The other 8 datasets' V2S rows and every baseline row
# are copied from bench_offline_round4_program/results.csv beforehand (same
# parameters, same key; without a validation split the training is the same
# code path), so the bench fits only OSULeaf and PLAID, seeds 0-2.
# Committed before it ran; the copy moved into offline_bench.sh's copy_rows
# afterwards (the same rows).
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round5_keepstart
copy_rows benchmarks/results/bench_offline_round4_program/results.csv $OUT OSULeaf PLAID
offline_bench_named $OUT probe_program_keepstart --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0
echo "== done $(date)"
