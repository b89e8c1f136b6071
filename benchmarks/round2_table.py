"""Round-2 table (issue 15): default, its delta = 0 twin, the inner-readout candidate, baselines.

Reads benchmarks/results/bench_offline_round2/results.csv (written by
benchmarks/round2_bench.sh) and the round-1 default from
benchmarks/results/bench_offline/results.csv; prints markdown. Cells are the
mean test accuracy over the seeds present (the n column says how many).

Usage: python benchmarks/round2_table.py [--markdown]
"""

import json
import sys
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def _v2s_kind(config):
    params = json.loads(config)
    if not params.get("train_program", True):
        return f"delta=0 ({params.get('readout', 'logits')})"
    return f"V2S ({params.get('readout', 'logits')})"


def main():
    rows = pd.read_csv(RESULTS / "bench_offline_round2" / "results.csv")
    new = rows[(rows.method == "v2s") & rows.config.str.contains('"readout"')].copy()
    new["kind"] = new.config.map(_v2s_kind)
    old = pd.read_csv(RESULTS / "bench_offline" / "results.csv")
    old = old[(old.method == "v2s") & old.config.map(lambda c: json.loads(c).get("max_epochs") == 100)]
    base = rows[rows.method != "v2s"].pivot_table(index="dataset", columns="method", values="accuracy")
    table = new.pivot_table(index="dataset", columns="kind", values="accuracy")
    for kind in ("V2S (logits)", "delta=0 (logits)", "V2S (inner)"):
        if kind not in table:
            table[kind] = float("nan")
    seeds = new.pivot_table(index="dataset", columns="kind", values="accuracy", aggfunc="count")
    fraction = new[new.kind == "V2S (logits)"].groupby("dataset").program_fraction.mean()
    table["program (default - delta=0)"] = table["V2S (logits)"] - table["delta=0 (logits)"]
    table["round 1 default"] = old.groupby("dataset").accuracy.mean()
    table = table.join(base[["1nn-euclidean", "1nn-dtw", "minirocket"]])
    table["default - 1-NN ED"] = table["V2S (logits)"] - table["1nn-euclidean"]
    table["program share"] = fraction
    complete = table.dropna(subset=["V2S (logits)", "delta=0 (logits)"])
    # skipna=False: a column that misses one of these datasets gets no mean here.
    table.loc[f"mean ({len(complete)} with default and twin)"] = complete.mean(numeric_only=True, skipna=False)
    inner = table.dropna(subset=["V2S (inner)"]).drop(index=table.index[-1:], errors="ignore")
    if len(inner):
        table.loc[f"mean ({len(inner)} with inner)"] = inner.mean(numeric_only=True)
    if "--markdown" in sys.argv:
        print("| dataset | " + " | ".join(table.columns) + " |")
        print("|---" * (len(table.columns) + 1) + "|")
        for name, row in table.iterrows():
            cells = [
                "" if pd.isna(v) else f"{v:+.3f}" if column.startswith(("program (", "default -")) else f"{v:.3f}"
                for column, v in row.items()
            ]
            print(f"| {name} | " + " | ".join(cells) + " |")
        return
    print(table.round(3).to_string())
    print("\nseeds per cell:\n" + seeds.to_string())
    print("\nmean fit seconds:\n" + new.groupby("kind").fit_seconds.mean().round(1).to_string())


if __name__ == "__main__":
    main()
