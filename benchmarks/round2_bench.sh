#!/bin/bash
# Issue 15, round 2, as it ran (with that round's defaults: CREPE's logits, and
# resample="auto" set by the bench). Since round 3 the same commands run the
# new defaults; add --readout logits --resample auto to repeat round 2.
# Run from anywhere: offline_bench.sh moves to the repository root.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round2
echo "== default seed 0 $(date)"; offline_bench $OUT --seeds 1
echo "== delta=0 twin seed 0 $(date)"; offline_bench $OUT --seeds 1 --no-train-program
echo "== inner candidate seed 0 $(date)"; offline_bench $OUT --seeds 1 --readout inner
echo "== default seeds 0-2 $(date)"; offline_bench $OUT --seeds 3
echo "== delta=0 twin seeds 0-2 $(date)"; offline_bench $OUT --seeds 3 --no-train-program
echo "== done $(date)"
