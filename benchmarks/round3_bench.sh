#!/bin/bash
# Issue 15, round 3: the declared test run of the default chosen by 5-fold CV on
# the training splits (r2-windows-inner: readout="inner", resample="windows",
# now V2SClassifier's defaults) and of its delta = 0 twin. Committed before it
# ran. Baseline rows are copied from bench_offline/results.csv beforehand (their
# keys do not depend on V2S parameters), so the bench resumes them.
# Run from anywhere: the repository root is this script's parent folder.
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD"
OUT=benchmarks/results/bench_offline_round3
B="python cli.py bench --datasets offline --methods v2s,minirocket,1nn-euclidean,1nn-dtw --out $OUT --no-download --n-jobs 2 --quiet"
echo "== default seed 0 $(date)"; $B --seeds 1
echo "== delta=0 twin seed 0 $(date)"; $B --seeds 1 --no-train-program
echo "== default seeds 0-2 $(date)"; $B --seeds 3
echo "== delta=0 twin seeds 0-2 $(date)"; $B --seeds 3 --no-train-program
echo "== done $(date)"
