#!/bin/bash
# Issue 15, round 11: seeds 1 and 2 of r10-program-scales' declared test run
# (benchmarks/accuracy_search.py; round 10 ran seed 0 only:
# bench_offline_round10_program). Its configuration becomes the named preset
# "program-scales" (V2S: the round-9 default with every view also read
# stretched 4 times, every program trained), chosen on cross-validation: its
# CV mean, 0.847 on the six training splits, is the highest of any declared
# row. Its seed-0 test rows were seen before this choice (0.893); the docs
# say so. Declared (committed) before seeds 1 and 2 ran, so their result
# chooses nothing. Its delta = 0 twin on the same seeds is "probe-scales"
# (bench_offline_round10/report_probe_scales.md).
#
# Round 11 added program_scales to the parameters. The bench would resume
# round 10's seed-0 rows as they are (benchmark._stored_keys completes a
# stored configuration with the parameters added since), but
# readme_tables.py keeps one configuration per dataset by its exact text,
# so the rows are copied with program_scales="all" (what they ran with:
# every program trained) written into their configuration and key, and all
# three seeds read as one configuration.
source "$(dirname "$0")/offline_bench.sh"
OUT=benchmarks/results/bench_offline_round11_program
mkdir -p $OUT
[ -f $OUT/results.csv ] || python - benchmarks/results/bench_offline_round10_program/results.csv $OUT/results.csv <<'PY'
import csv
import hashlib
import json
import sys

src, dst = sys.argv[1:]
with open(src, newline="") as f:
    rows = list(csv.DictReader(f))
for row in rows:
    if row["method"] == "v2s":
        config = json.loads(row["config"])
        config["program_scales"] = "all"
        row["config"] = json.dumps(config, sort_keys=True, default=str)
        digest = hashlib.sha1(row["config"].encode()).hexdigest()[:12]
        row["key"] = f"{row['dataset']}|v2s|{row['seed']}|{digest}"
with open(dst, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
print(f"copied {len(rows)} rows from {src}")
PY
offline_bench_named $OUT program_scales --seeds 3 --max-epochs 30 --head-init logistic --head-learning-rate 0 \
    --views series+diff --refit-head true --time-scales 1+4 --program-scales all
echo "== done $(date)"
