"""Figures for docs/accuracy.md: learning curves and per-configuration accuracy.

1. ``docs/accuracy_epochs.png``: training and validation accuracy per epoch of
   the default V2SClassifier (crepe-tiny, linear head, lr 0.01) on GunPoint,
   ItalyPowerDemand and ArrowHead, seeds 0-2. The validation split (20 %,
   stratified) is carved from the *training* split; the test split is not read.
   Curves are also written to ``benchmarks/results/accuracy_epochs.csv``.
2. ``docs/accuracy_configs.png``: test accuracy (mean ± std over seeds) of the
   configurations benchmarked by ``python cli.py bench`` (default, the
   crepe-speech preset, ensemble of 5, learning rate 0.03, 50 epochs) beside
   MiniRocket, read from ``benchmarks/results/bench_*/results.csv``,
   and the per-source GunPoint numbers of ``benchmarks/sources.py``.
3. ``docs/accuracy_cv.png``: 5-fold CV accuracy on the training splits
   (``benchmarks/results/accuracy_search.csv``) of every configuration minus
   that of "default" (CV seed 0), per dataset, for the configurations run on
   at least two datasets.

Usage: python benchmarks/accuracy_plots.py [--skip-curves]
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from voice2series import V2SClassifier
from voice2series.datasets import load_ucr
from voice2series.threads import available_cores

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
CURVE_DATASETS = ["GunPoint", "ItalyPowerDemand", "ArrowHead"]
EPOCHS = 150


def learning_curves():
    """Train/validation accuracy per epoch, validation carved from the train split."""
    torch.set_num_threads(available_cores())
    rows = []
    for dataset in CURVE_DATASETS:
        X, y = load_ucr(dataset, "train")
        for seed in range(3):
            # n_iter_no_change > max_epochs: never stop early, record every epoch.
            clf = V2SClassifier(
                early_stopping=True, max_epochs=EPOCHS, n_iter_no_change=EPOCHS + 1, random_state=seed
            ).fit(X, y)
            rows += [{"dataset": dataset, "seed": seed, **record} for record in clf.history_]
    curves = pd.DataFrame(rows)
    curves.to_csv(RESULTS / "accuracy_epochs.csv", index=False)
    return curves


def plot_curves(curves):
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, len(CURVE_DATASETS), sharey=True)
    for ax, dataset in zip(axes, CURVE_DATASETS):
        data = curves[curves.dataset == dataset]
        for column, colour in [("train_accuracy", "tab:blue"), ("val_accuracy", "tab:orange")]:
            per_epoch = data.groupby("epoch")[column]
            mean, std = per_epoch.mean(), per_epoch.std()
            ax.plot(mean.index, mean, color=colour, label=column.replace("_", " "))
            ax.fill_between(mean.index, mean - std, mean + std, color=colour, alpha=0.2)
        ax.set_title(dataset)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (mean ± std, seeds 0-2)")
    axes[0].legend(loc="lower right")
    fig.suptitle("Default V2SClassifier: accuracy per epoch (validation = 20 % of the training split)")
    fig.savefig(DOCS / "accuracy_epochs.png", dpi=110)


def bench_table():
    """Mean and std test accuracy per dataset for each benchmarked configuration."""
    frames = []
    for label, folder in [
        ("V2S default", "bench_offline"),
        ("V2S crepe-speech", "bench_crepe_speech"),
        ("V2S ensemble of 5", "bench_ensemble5"),
        ("V2S lr 0.03", "bench_lr0.03"),
    ]:
        path = RESULTS / folder / "results.csv"
        if not path.exists():
            continue
        rows = pd.read_csv(path)
        rows["label"] = rows["method"].map({"v2s": label, "minirocket": "MiniRocket", "1nn-dtw": "1-NN DTW"})
        # bench_offline also holds the V2S rows of the run with max_epochs=50.
        epochs = rows["config"].map(lambda config: json.loads(config).get("max_epochs"))
        rows.loc[(rows.method == "v2s") & (epochs == 50) & (folder == "bench_offline"), "label"] = (
            "V2S default, 50 epochs"
        )
        frames.append(rows.dropna(subset=["label"]))
    rows = pd.concat(frames).drop_duplicates(subset=["dataset", "label", "seed"])
    return rows.groupby(["dataset", "label"])["accuracy"].agg(["mean", "std"]).reset_index()


def plot_configs(table):
    sources = []
    for name in ["sources_segments1", "sources_segments20", "sources_crepe_full"]:
        report = json.loads((RESULTS / f"{name}.json").read_text())
        suffix = f", segments={report['segments']}" if report.get("segments", 1) != 1 else ""
        for result in report["results"]:
            if "gunpoint_accuracy_mean" in result:
                sources.append(
                    (f"{result['source']}{suffix}", result["gunpoint_accuracy_mean"], result["gunpoint_accuracy_std"])
                )
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[2, 1])
    datasets = sorted(table.dataset.unique())
    labels = [
        "V2S default",
        "V2S crepe-speech",
        "V2S ensemble of 5",
        "V2S lr 0.03",
        "V2S default, 50 epochs",
        "MiniRocket",
        "1-NN DTW",
    ]
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        data = table[table.label == label].set_index("dataset").reindex(datasets)
        left.bar(
            np.arange(len(datasets)) + i * width,
            data["mean"],
            width,
            yerr=data["std"].fillna(0),
            label=label,
            capsize=2,
        )
    left.set_xticks(np.arange(len(datasets)) + 0.4 - width / 2, datasets, rotation=30, ha="right")
    left.set_ylabel("test accuracy (mean ± std over seeds)")
    left.set_ylim(0, 1.3)  # headroom for the legend above the bars
    left.set_yticks(np.linspace(0, 1, 6))
    left.set_title("python cli.py bench (official splits, seeds 0-2)")
    left.legend(fontsize=7, loc="upper center", ncol=4)
    names, means, stds = zip(*sources)
    right.barh(np.arange(len(names)), means, xerr=stds, color="tab:green", capsize=2)
    right.set_yticks(np.arange(len(names)), names, fontsize=8)
    right.set_xlim(0, 1)
    right.set_xlabel("GunPoint test accuracy (20 epochs, seeds 0-2)")
    right.set_title("Sources (benchmarks/sources.py)")
    fig.savefig(DOCS / "accuracy_configs.png", dpi=110)


def plot_cv():
    rows = pd.read_csv(RESULTS / "accuracy_search.csv")
    rows = rows[rows.cv_seed == 0]  # the CV seed every configuration ran
    table = rows.pivot_table(index="config", columns="dataset", values="accuracy", aggfunc="mean")
    difference = (table - table.loc["default"]).drop(index="default")
    difference = difference[difference.notna().sum(axis=1) >= 2]
    order = difference.mean(axis=1).sort_values().index
    fig = Figure(figsize=(9, 0.35 * len(order) + 1.5), layout="constrained")
    ax = fig.subplots()
    ax.barh(np.arange(len(order)), difference.loc[order].mean(axis=1), color="lightgray", label="mean")
    for marker, dataset in zip("os^vD", difference.columns):
        ax.scatter(difference.loc[order, dataset], np.arange(len(order)), marker=marker, s=18, label=dataset)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(np.arange(len(order)), order, fontsize=8)
    ax.set_xlabel("5-fold CV accuracy minus default's (training splits only)")
    ax.set_title("Configurations vs the default (benchmarks/accuracy_search.py)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(DOCS / "accuracy_cv.png", dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-curves", action="store_true", help="reuse accuracy_epochs.csv")
    args = parser.parse_args()
    curves = pd.read_csv(RESULTS / "accuracy_epochs.csv") if args.skip_curves else learning_curves()
    plot_curves(curves)
    table = bench_table()
    print(table.round(3).to_string(index=False))
    plot_configs(table)
    plot_cv()


if __name__ == "__main__":
    main()
