# Sourced by the declared round scripts (round2_bench.sh, round3_bench.sh, ...):
# moves to the repository root and defines `offline_bench OUT [options]`, the
# bench of the 10 bundled datasets with V2S and the three baselines, and
# `offline_bench_named OUT NAME [options]`, the same bench with its report
# moved to OUT/report_NAME.md (so several configurations share one folder), and
# `copy_rows SRC OUT [DATASET...]`, which starts OUT/results.csv (unless it
# exists) with the rows of the results file SRC the bench can resume: all but
# its V2S rows, or, with DATASETs named, all but their V2S rows.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD"
# The declared runs of rounds 2-8 ran with the defaults of their time; ROUND3_DEFAULT
# (voice2series/presets.py) pins the ones rounds 7, 9, 12, 13 and 15 changed, and each script's own
# options come after them.
ROUND3_DEFAULT="--refit-head false --max-epochs 100 --head-init random --head-learning-rate none --views series"
ROUND3_DEFAULT+=" --time-scales 1 --program-scales all --stretched-window-hop 0.5 --unequal-lengths resample"
offline_bench() {
    local out=$1
    shift
    # shellcheck disable=SC2086
    python cli.py bench --datasets offline --methods v2s,minirocket,1nn-euclidean,1nn-dtw --out "$out" \
        --no-download --n-jobs 2 --quiet $ROUND3_DEFAULT "$@"
}
offline_bench_named() {
    local out=$1 name=$2
    shift 2
    echo "== $name $(date)"
    offline_bench "$out" "$@" && mv "$out/report.md" "$out/report_$name.md"
}
copy_rows() {
    local src=$1 out=$2
    shift 2
    mkdir -p "$out"
    [ -f "$out/results.csv" ] || python - "$src" "$out/results.csv" "$@" <<'PY'
import csv
import sys

src, dst, *datasets = sys.argv[1:]
with open(src, newline="") as f:
    rows = list(csv.DictReader(f))
kept = [r for r in rows if r["method"] != "v2s" or (datasets and r["dataset"] not in datasets)]
with open(dst, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(kept)
print(f"copied {len(kept)} of {len(rows)} rows from {src}")
PY
}
