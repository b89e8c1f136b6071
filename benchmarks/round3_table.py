"""Round-3 table (issue 15): the default chosen by CV, its delta = 0 twin, round 2's default, baselines.

Reads benchmarks/results/bench_offline_round3/results.csv (written by
benchmarks/round3_bench.sh) and round 2's default (seed 0, the seed it has on
every dataset) from benchmarks/results/bench_offline_round2/results.csv; prints
markdown. V2S cells are mean ± sample std over the seeds present (n says how
many); the program's contribution is the mean over seeds of default - twin.

Usage: python benchmarks/round3_table.py
"""

import json
from pathlib import Path

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
BASELINES = ["1nn-euclidean", "1nn-dtw", "minirocket"]


def _v2s(rows):
    v2s = rows[rows.method == "v2s"].copy()
    v2s["program"] = v2s.config.map(lambda config: json.loads(config).get("train_program", True))
    return v2s


def _mean_std(values):
    return (
        f"{values.mean():.3f} ± {values.std(ddof=1):.3f} (n={len(values)})"
        if len(values) > 1
        else f"{values.mean():.3f} (n=1)"
    )


def main():
    rows = pd.read_csv(RESULTS / "bench_offline_round3" / "results.csv")
    v2s = _v2s(rows)
    default, twin = v2s[v2s.program], v2s[~v2s.program]
    round2 = _v2s(pd.read_csv(RESULTS / "bench_offline_round2" / "results.csv"))
    round2 = round2[round2.program & round2.config.str.contains('"readout": "logits"') & (round2.seed == 0)]
    base = rows[rows.method != "v2s"].pivot_table(index="dataset", columns="method", values="accuracy")
    paired = default.merge(twin, on=["dataset", "seed"], suffixes=("", "_twin"))
    paired["gain"] = paired.accuracy - paired.accuracy_twin
    table = pd.DataFrame(
        {
            "default": default.groupby("dataset").accuracy.apply(_mean_std),
            "δ held at 0": twin.groupby("dataset").accuracy.apply(_mean_std),
            "program (default − twin, paired seeds)": paired.groupby("dataset").gain.mean().map("{:+.3f}".format),
            "round-2 default (seed 0)": round2.groupby("dataset").accuracy.mean().map("{:.3f}".format),
            **{name: base[name].map("{:.3f}".format) for name in BASELINES},
            "default − 1-NN ED": (default.groupby("dataset").accuracy.mean() - base["1nn-euclidean"]).map(
                "{:+.3f}".format
            ),
        }
    ).fillna("")
    means = {
        "default": default.groupby("dataset").accuracy.mean().mean(),
        "δ held at 0": twin.groupby("dataset").accuracy.mean().mean(),
        "program (default − twin, paired seeds)": paired.groupby("dataset").gain.mean().mean(),
        "round-2 default (seed 0)": round2.groupby("dataset").accuracy.mean().mean(),
        **{name: base[name].mean() for name in BASELINES},
    }
    mean_row = {k: (f"{v:+.3f}" if k.startswith("program") else f"{v:.3f}") for k, v in means.items()}
    table.loc[f"**mean** ({default.dataset.nunique()} datasets)"] = pd.Series(mean_row)
    table = table.fillna("")
    print("| dataset | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(row) + " |")
    seeds, twin_seeds = (part.groupby("dataset").seed.nunique() for part in (default, twin))
    print(f"\nseeds per dataset: default {seeds.min()}-{seeds.max()}, twin {twin_seeds.min()}-{twin_seeds.max()}")
    print(f"mean fit seconds (default / twin): {default.fit_seconds.mean():.1f} / {twin.fit_seconds.mean():.1f}")


if __name__ == "__main__":
    main()
