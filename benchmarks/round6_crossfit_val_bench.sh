#!/bin/bash
# Issue 15, round 6, second: the declared test run of r6-crossfit-val
# (benchmarks/accuracy_search.py): the cross-fitted program of
# round6_crossfit_bench.sh with its epoch chosen on a 20 % validation split
# of the training series that neither the program nor the fold heads train
# on (early_stopping=True; validation accuracy, ties by lower loss; the start
# included), the final head then fitted on every training series. Decided
# after the first run (0.838 against the probe's 0.836) and the optimism
# measurement (the cross-fitted loss 1.15-4.3 times below unseen series'
# loss); declared together with its CV row and run whatever the CV says;
# committed before it ran. Twin: round 4's probe. Baseline rows are copied
# from bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round6_val
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT crossfit_val --seeds 3 --max-epochs 30 --head-init logistic --program-loss cross-fitted \
    --early-stopping true
echo "== done $(date)"
