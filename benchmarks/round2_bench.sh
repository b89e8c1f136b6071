#!/bin/bash
# Run from anywhere: the repository root is this script's parent folder.
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD"
OUT=benchmarks/results/bench_offline_round2
B="python cli.py bench --datasets offline --methods v2s,minirocket,1nn-euclidean,1nn-dtw --out $OUT --no-download --n-jobs 2 --quiet"
echo "== default seed 0 $(date)"; $B --seeds 1
echo "== delta=0 twin seed 0 $(date)"; $B --seeds 1 --no-train-program
echo "== inner candidate seed 0 $(date)"; $B --seeds 1 --readout inner
echo "== default seeds 0-2 $(date)"; $B --seeds 3
echo "== delta=0 twin seeds 0-2 $(date)"; $B --seeds 3 --no-train-program
echo "== done $(date)"
