#!/bin/bash
# Issue 15, round 3: the declared test run of the default chosen by 5-fold CV on
# the training splits (r2-windows-inner: readout="inner", resample="windows",
# now V2SClassifier's defaults) and of its delta = 0 twin. Committed before it
# ran. Baseline rows are copied from bench_offline_round2/results.csv beforehand
# (the baseline rows of bench_offline/; their keys do not depend on V2S
# parameters), so the bench resumes them.
# Run from anywhere: offline_bench.sh moves to the repository root.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round3
echo "== default seed 0 $(date)"; offline_bench $OUT --seeds 1
echo "== delta=0 twin seed 0 $(date)"; offline_bench $OUT --seeds 1 --no-train-program
echo "== default seeds 0-2 $(date)"; offline_bench $OUT --seeds 3
echo "== delta=0 twin seeds 0-2 $(date)"; offline_bench $OUT --seeds 3 --no-train-program
echo "== done $(date)"
