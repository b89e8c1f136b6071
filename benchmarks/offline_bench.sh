# Sourced by the declared round scripts (round2_bench.sh, round3_bench.sh):
# moves to the repository root and defines `offline_bench OUT [options]`, the
# bench of the 10 bundled datasets with V2S and the three baselines.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD"
offline_bench() {
    local out=$1
    shift
    python cli.py bench --datasets offline --methods v2s,minirocket,1nn-euclidean,1nn-dtw --out "$out" \
        --no-download --n-jobs 2 --quiet "$@"
}
