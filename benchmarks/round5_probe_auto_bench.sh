#!/bin/bash
# Issue 15, round 5: the declared test run of the "probe-auto" preset
# (SourceChoiceClassifier): per dataset, the delta = 0 probe on CREPE-tiny or on
# CREPE-full, whichever has the lower cross-validated log loss on the training
# series (the folds that choose the logistic penalty; one seed for both).
# Not V2S: no program is trained. It answers issue 15's "per-dataset choice by
# inner CV": does the choice beat either source alone (round 4's test runs:
# CREPE-tiny probe 0.836, CREPE-full probe 0.854), and at what cost (about the
# two probes' fit times together)? Declared together with its CV row
# (benchmarks/accuracy_search.py, r5-probe-auto) and run whatever the CV says,
# so the test result chooses nothing. Committed before it ran. Baseline rows
# are copied from bench_offline_round3/results.csv beforehand (the copy moved
# into offline_bench.sh's copy_rows afterwards; the same rows).
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round5
copy_rows benchmarks/results/bench_offline_round3/results.csv $OUT
offline_bench_named $OUT probe_auto --seeds 3 --preset probe-auto
echo "== done $(date)"
