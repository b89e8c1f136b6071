#!/bin/bash
# Issue 15, round 4: the declared test run of r4-probe-program (benchmarks/
# accuracy_search.py): V2S whose head starts at the logistic probe and stays
# there (head_learning_rate=0) while the program trains for 30 epochs; CV on
# the six training splits 0.783, against 0.775 for the default at 30 epochs and
# 0.787 for its delta = 0 twin, the probe. Decided after the probe's test run
# (bench_offline_round4/report_probe.md: 0.836 against the trained default's
# 0.798), which is this configuration's starting point; committed before it
# ran. Its own folder, so it can run beside round4_bench.sh; baseline rows are
# copied from bench_offline_round3/results.csv beforehand.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round4_program
echo "== probe-program seeds 0-2 $(date)"
offline_bench $OUT --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 && mv $OUT/report.md $OUT/report_probe_program.md
echo "== done $(date)"
