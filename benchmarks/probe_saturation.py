"""How much training signal the probe's head leaves the program (issue 15, round 5).

A program trained against the probe's fixed head (r4-probe-program) learns
from the training series' cross-entropy through that head. If the head
already classifies the training series confidently, that loss and its
gradient are near zero wherever the program could act, whatever the series
held out would say. For each bundled dataset this fits the CREPE-tiny probe
(preset "probe", seed 0) on the official training split and prints its
accuracy and mean log loss on those same series beside the log loss over the
cross-validation folds that chose its penalty (``head_cv_log_loss_``), and
the mean of 1 - p(true class), the factor by which the head scales every
series' gradient back to the program. Training splits only: no test series
is read.

Usage: PYTHONPATH=$PWD:$PWD/benchmarks python benchmarks/probe_saturation.py [--out FILE]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from machine import describe
from sklearn.metrics import log_loss

from voice2series import make_preset
from voice2series.datasets import bundled_datasets, load_ucr

RESULTS = Path(__file__).resolve().parent / "results"


def saturation(dataset, seed=0):
    X, y = load_ucr(dataset, "train")
    probe = make_preset("probe", random_state=seed).fit(X, y)
    proba = probe.predict_proba(X)
    true_class = np.searchsorted(probe.classes_, y)
    p_true = proba[np.arange(len(y)), true_class]
    return {
        "dataset": dataset,
        "n_train": len(y),
        "train_accuracy": round(float(np.mean(probe.classes_[proba.argmax(axis=1)] == y)), 4),
        "train_log_loss": round(float(log_loss(y, proba, labels=probe.classes_)), 4),
        "cv_log_loss": None if probe.head_cv_log_loss_ is None else round(probe.head_cv_log_loss_, 4),
        "mean_gradient_factor": round(float(np.mean(1.0 - p_true)), 4),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="probe_saturation.json")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    # The bench's "offline" datasets: the 10 bundled univariate ones.
    for dataset in bundled_datasets(univariate_only=True):
        rows.append(saturation(dataset))
        print(json.dumps(rows[-1]), flush=True)
    result = {
        "command": "PYTHONPATH=$PWD:$PWD/benchmarks python benchmarks/probe_saturation.py",
        "machine": describe(),
        "seconds": round(time.perf_counter() - started, 1),
        "seed": 0,
        "rows": rows,
    }
    (RESULTS / args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
