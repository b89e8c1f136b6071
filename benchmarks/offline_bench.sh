# Sourced by the declared round scripts (round2_bench.sh, round3_bench.sh, ...):
# moves to the repository root and defines `offline_bench OUT [options]`, the
# bench of the 10 bundled datasets with V2S and the three baselines, and
# `offline_bench_named OUT NAME [options]`, the same bench with its report
# moved to OUT/report_NAME.md (so several configurations share one folder).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD"
offline_bench() {
    local out=$1
    shift
    python cli.py bench --datasets offline --methods v2s,minirocket,1nn-euclidean,1nn-dtw --out "$out" \
        --no-download --n-jobs 2 --quiet "$@"
}
offline_bench_named() {
    local out=$1 name=$2
    shift 2
    echo "== $name $(date)"
    offline_bench "$out" "$@" && mv "$out/report.md" "$out/report_$name.md"
}
