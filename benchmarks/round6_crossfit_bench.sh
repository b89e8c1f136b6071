#!/bin/bash
# Issue 15, round 6: the declared test run of r6-crossfit (benchmarks/
# accuracy_search.py): V2S whose program is trained on the cross-fitted loss
# (each training series scored by a logistic head fitted without its fold;
# program_loss="cross-fitted", voice2series/crossfit.py), 30 epochs at most,
# the epoch with the lowest cross-fitted loss kept (the start included), then
# the head fitted on every training series. Its delta = 0 twin is round 4's
# probe (bench_offline_round4/report_probe.md: same readout, placement,
# penalty search and seeds 0-2), so the program's contribution is the
# difference per dataset. Declared together with its CV row and run whatever
# the CV says, so the test result chooses nothing; committed before it ran.
# Baseline rows are copied from bench_offline_round3/results.csv.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round6
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT crossfit --seeds 3 --max-epochs 30 --head-init logistic --program-loss cross-fitted
echo "== done $(date)"
