"""How optimistic the cross-fitted loss is about the program that trained on it (issue 15, round 6).

``program_loss="cross-fitted"`` keeps the epoch whose program has the lowest
cross-fitted log loss: each series scored by a logistic head fitted without
it. The heads never see the series they score, but the program was trained
on every one of them, so that loss can fall while the loss on series the
program never saw does not. This measures the gap on the training splits
only (no test series is read): 5-fold CV (the folds of
``benchmarks/accuracy_search.py``, CV seed 0, ``random_state`` = fold), and
for each fold the model fitted on the other four folds reports its own
estimate of its log loss, beside the log loss and accuracy on the held-out
fold:

- ``r6-crossfit``: the estimate is the kept epoch's cross-fitted loss
  (``history_[best_epoch_ - 1]["cv_loss"]``, or the start's when epoch 0 is
  kept, which history does not hold: then ``head_cv_log_loss_``);
- ``r4-probe``, its delta = 0 twin: ``head_cv_log_loss_``, the mean log loss
  over the folds that chose the logistic penalty.

A fold's held-out accuracy equals that configuration's row in
``benchmarks/results/accuracy_search.csv`` (same folds, same seeds).

Usage: PYTHONPATH=$PWD:$PWD/benchmarks python benchmarks/crossfit_optimism.py \
    [--datasets ArrowHead,GunPoint] [--out FILE]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from accuracy_search import CONFIGS, SEARCH_BASE, _estimator_params, _rows
from machine import describe
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from voice2series import V2SClassifier
from voice2series.datasets import load_ucr

RESULTS = Path(__file__).resolve().parent / "results"
CONFIG_NAMES = ("r6-crossfit", "r4-probe")
DATASETS = "ArrowHead,GunPoint,ItalyPowerDemand,PickupGestureWiimoteZ"


def own_estimate(model):
    """The log loss the fitted model's selection believed in (see the module docstring)."""
    if model.program_loss == "cross-fitted" and model.best_epoch_:
        return model.history_[model.best_epoch_ - 1]["cv_loss"]
    return model.head_cv_log_loss_


def fold_row(config, dataset, fold, n_folds=5, cv_seed=0):
    X, y = load_ucr(dataset, "train")
    train, held_out = list(StratifiedKFold(n_folds, shuffle=True, random_state=cv_seed).split(X, y))[fold]
    params = _estimator_params({**SEARCH_BASE, **CONFIGS[config]})
    model = V2SClassifier(random_state=fold, **params).fit(_rows(X, train), y[train])
    proba = model.predict_proba(_rows(X, held_out))
    return {
        "config": config,
        "dataset": dataset,
        "fold": fold,
        "best_epoch": model.best_epoch_,
        "own_log_loss_estimate": round(float(own_estimate(model)), 4),
        "held_out_log_loss": round(float(log_loss(y[held_out], proba, labels=model.classes_)), 4),
        "held_out_accuracy": round(float(np.mean(model.classes_[proba.argmax(axis=1)] == y[held_out])), 6),
    }


def summary(rows):
    """Per configuration and dataset: mean estimate, mean held-out loss, their ratio."""
    table = {}
    for config in CONFIG_NAMES:
        for dataset in sorted({r["dataset"] for r in rows}):
            mine = [r for r in rows if r["config"] == config and r["dataset"] == dataset]
            estimate = np.mean([r["own_log_loss_estimate"] for r in mine])
            held_out = np.mean([r["held_out_log_loss"] for r in mine])
            table[f"{config} {dataset}"] = {
                "own_log_loss_estimate": round(float(estimate), 4),
                "held_out_log_loss": round(float(held_out), 4),
                "held_out_over_estimate": round(float(held_out / estimate), 2),
                "held_out_accuracy": round(float(np.mean([r["held_out_accuracy"] for r in mine])), 4),
            }
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--out", default="crossfit_optimism.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started, rows = time.perf_counter(), []
    for dataset in args.datasets.split(","):
        for fold in range(5):
            for config in CONFIG_NAMES:
                rows.append(fold_row(config, dataset, fold))
                print(json.dumps(rows[-1]), flush=True)
    result = {
        "command": f"PYTHONPATH=$PWD:$PWD/benchmarks python benchmarks/crossfit_optimism.py --datasets {args.datasets}",
        "machine": describe(),
        "seconds": round(time.perf_counter() - started, 1),
        "cv_seed": 0,
        "summary": summary(rows),
        "rows": rows,
    }
    (RESULTS / args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
