"""Fit time of each preset (voice2series.presets) on one dataset, alone on the machine.

Accuracy of the presets comes from ``python cli.py bench --preset NAME``; this
script only answers what each one costs: wall seconds of ``fit`` on the
official training split, seed 0, with torch's default threads, after one
untimed fit of every preset on a few series (so that no preset is charged the
process's first loading of a source's weights).

Usage: python benchmarks/preset_cost.py [--dataset GunPoint] [--presets default,crepe-speech]
       [--params 'previous-default={"readout": "logits", "resample": "auto"}']  (V2SClassifier
       parameters, timed beside the presets) [--out preset_cost_GunPoint_round2.json]
Writes benchmarks/results/preset_cost_<dataset>.json (or --out) and prints a markdown table.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

import voice2series
from voice2series.datasets import load_ucr
from voice2series.presets import PRESETS, make_preset

RESULTS = Path(__file__).resolve().parent / "results"
# Series of the untimed warm-up fit of each preset (stratified; enough for the logistic start's folds).
WARMUP_SERIES = 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="GunPoint")
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="file name under benchmarks/results/ (default: preset_cost_<dataset>.json)")
    parser.add_argument(
        "--params", action="append", default=[], help="NAME=JSON: V2SClassifier parameters to time beside the presets"
    )
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.params)

    X, y = load_ucr(args.dataset, "train")
    names = [*args.presets.split(","), *extra]
    # One untimed fit of each on a few series first: the first fit in a process also loads the
    # source's weights and sets torch up, which would otherwise be charged to whichever came first.
    few = train_test_split(np.arange(len(y)), train_size=WARMUP_SERIES, stratify=y, random_state=0)[0]
    for name in names:
        _estimator(name, extra, args.seed).fit(X[few], y[few])
    rows = []
    for name in names:
        estimator = _estimator(name, extra, args.seed)
        started = time.perf_counter()
        estimator.fit(X, y)
        rows.append({"preset": name, "fit_seconds": round(time.perf_counter() - started, 2)})
        print(json.dumps(rows[-1]), flush=True)
    baseline = next((r["fit_seconds"] for r in rows if r["preset"] == "default"), None)
    report = {
        "dataset": args.dataset,
        "seed": args.seed,
        "date": time.strftime("%Y-%m-%d"),
        "version": voice2series.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "warmup_series": WARMUP_SERIES,
        "results": rows,
    }
    out = RESULTS / (args.out or f"preset_cost_{args.dataset}.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n| preset | fit s ({args.dataset}, seed {args.seed}) | x default |\n|---|---|---|")
    for row in rows:
        ratio = f"{row['fit_seconds'] / baseline:.1f}" if baseline else ""
        print(f"| {row['preset']} | {row['fit_seconds']:.1f} | {ratio} |")
    print(f"\nwritten to {out}")


def _estimator(name, extra, seed):
    if name in extra:
        return voice2series.V2SClassifier(random_state=seed, **json.loads(extra[name]))
    return make_preset(name, random_state=seed)


if __name__ == "__main__":
    main()
