"""GunPoint with the default V2SClassifier: accuracy over seeds, fit time, overhead.

Protocol: official train/test split; early stopping on a stratified validation
split of the training data; the test split is scored once per seed.

Overhead: the mean seconds of one training epoch divided by the seconds the
frozen source alone needs for forward + backward (to its input) over the same
mini-batches: how much the program, mapping, optimiser and validation cost on
top of the acoustic model.

Usage: python benchmarks/core_gunpoint.py [--seeds 0 1 2] [--dataset GunPoint]
Writes benchmarks/results/core_<dataset>.json and prints a markdown summary.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import voice2series
from voice2series import V2SClassifier
from voice2series.datasets import load_ucr
from voice2series.training import resolve_auto

RESULTS = Path(__file__).resolve().parent / "results"


def source_seconds_per_epoch(clf, n_train, repeats=3):
    """Forward + backward of the frozen source alone (with the fitted model's readout) over one epoch's batches."""
    source = clf.model_.source
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for size in np.diff(np.r_[np.arange(0, n_train, clf.batch_size), n_train]):
            waveform = torch.randn(int(size), source.input_length, requires_grad=True)
            source(waveform).sum().backward()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="GunPoint")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    X_train, y_train = load_ucr(args.dataset, "train")
    X_test, y_test = load_ucr(args.dataset, "test")
    runs = []
    for seed in args.seeds:
        clf = V2SClassifier(random_state=seed)
        started = time.perf_counter()
        clf.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - started
        accuracy = clf.score(X_test, y_test)
        held_out = clf.history_[0]["val_loss"] is not None
        n_fit = len(y_train) - (int(np.ceil(clf.validation_fraction * len(y_train))) if held_out else 0)
        epoch_seconds = float(np.mean([h["seconds"] for h in clf.history_]))
        source_seconds = source_seconds_per_epoch(clf, n_fit)
        runs.append(
            {
                "seed": seed,
                "accuracy": accuracy,
                "fit_seconds": fit_seconds,
                "epochs": len(clf.history_),
                "best_epoch": clf.best_epoch_,
                "readout": clf.readout_,
                "epoch_seconds": epoch_seconds,
                "source_fwd_bwd_seconds_per_epoch": source_seconds,
                "overhead_ratio": epoch_seconds / source_seconds,
            }
        )
        print(json.dumps(runs[-1]), flush=True)

    accuracies = np.array([r["accuracy"] for r in runs])
    summary = {
        "dataset": args.dataset,
        "date": time.strftime("%Y-%m-%d"),
        "version": voice2series.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        # The defaults as decided for a fit ("auto" resolved).
        "params": {k: v for k, v in resolve_auto(V2SClassifier().get_params()).items() if k != "random_state"},
        "accuracy_mean": float(accuracies.mean()),
        "accuracy_std": float(accuracies.std()),
        "fit_seconds_mean": float(np.mean([r["fit_seconds"] for r in runs])),
        "fit_seconds_max": float(np.max([r["fit_seconds"] for r in runs])),
        "overhead_ratio_mean": float(np.mean([r["overhead_ratio"] for r in runs])),
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"core_{args.dataset}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"\n| dataset | seeds | test accuracy | fit seconds (mean / max) | epoch / source fwd+bwd |\n"
        f"|---|---|---|---|---|\n"
        f"| {args.dataset} | {','.join(map(str, args.seeds))} | "
        f"{summary['accuracy_mean']:.4f} ± {summary['accuracy_std']:.4f} | "
        f"{summary['fit_seconds_mean']:.1f} / {summary['fit_seconds_max']:.1f} | "
        f"{summary['overhead_ratio_mean']:.2f} |\n\nwritten to {out}"
    )


if __name__ == "__main__":
    main()
