"""Command line: ``python cli.py run GunPoint`` (also installed as ``voice2series``)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .datasets import bundled_datasets, load_ucr
from .estimator import V2SClassifier
from .sources import source_names


def run(dataset, seed=0, **params):
    """Fit the classifier on a bundled dataset's train split, score on its test split.

    Model selection (early stopping) uses a validation split carved from the
    training data; the test split is used once, for the returned accuracy.

    Returns
    -------
    dict
        ``dataset``, ``accuracy``, ``fit_seconds``, ``epochs``, ``best_epoch``,
        ``params``.
    """
    X_train, y_train = load_ucr(dataset, "train")
    X_test, y_test = load_ucr(dataset, "test")
    clf = V2SClassifier(random_state=seed, **params)
    started = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - started
    return {
        "dataset": dataset,
        "seed": seed,
        "accuracy": float(clf.score(X_test, y_test)),
        "fit_seconds": fit_seconds,
        "epochs": len(clf.history_),
        "best_epoch": clf.best_epoch_,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "params": {k: v for k, v in clf.get_params().items() if k != "random_state"},
    }


def _parser():
    parser = argparse.ArgumentParser(
        prog="voice2series",
        description="Time series classification by reprogramming frozen acoustic models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser(
        "run",
        help="fit the default classifier on a bundled UCR dataset and print test accuracy",
        description="Fit V2SClassifier on the official train split of a bundled UCR dataset "
        "(early stopping on a validation split of the training data) and report accuracy "
        "on the official test split.",
    )
    run_parser.add_argument("dataset", help=f"one of: {', '.join(bundled_datasets(False))}")
    run_parser.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
    run_parser.add_argument("--source", choices=source_names(), default=None, help="acoustic model")
    run_parser.add_argument("--mapping", choices=["random", "sequential", "linear"], default=None)
    run_parser.add_argument("--max-epochs", type=int, default=None)
    run_parser.add_argument("--segments", type=int, default=None)
    run_parser.add_argument("--resample", default=None, help="'fit' or a target length")
    run_parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N")
    run_parser.add_argument("--verbose", action="store_true", help="show a progress bar")
    run_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    commands.add_parser("datasets", help="list the UCR datasets available offline")
    _add_explain_parser(commands)
    return parser


def _add_explain_parser(commands):
    explain_parser = commands.add_parser(
        "explain",
        help="write figures and a markdown summary explaining a fitted model",
        description="Fit V2SClassifier on a bundled dataset's train split (or load a model saved "
        "with V2SClassifier.save) and write PNG figures and summary.md explaining it on the "
        "test split.",
    )
    explain_parser.add_argument("dataset", help=f"one of: {', '.join(bundled_datasets(False))}")
    explain_parser.add_argument("--out", required=True, help="folder for the figures")
    explain_parser.add_argument("--model", default=None, help="a saved model instead of fitting")
    explain_parser.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
    explain_parser.add_argument("--max-epochs", type=int, default=None)
    explain_parser.add_argument(
        "--max-series", type=int, default=200, help="test series explained (default: 200)"
    )
    explain_parser.add_argument(
        "--projections", type=int, default=1000, help="sliced Wasserstein projections (default: 1000)"
    )


def _explain(args):
    """Fit (or load) a model and write its explanation; returns the report dict."""
    from .explain import explain_report

    if args.model is not None:
        clf = V2SClassifier.load(args.model)
    else:
        params = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
        clf = V2SClassifier(random_state=args.seed, **params).fit(*load_ucr(args.dataset, "train"))
    X_test, y_test = load_ucr(args.dataset, "test")
    return explain_report(
        clf, X_test, y_test, args.out, args.max_series, args.projections, args.seed
    )


def _run_params(args):
    params = {
        "source": args.source,
        "mapping": args.mapping,
        "max_epochs": args.max_epochs,
        "segments": args.segments,
        "device": args.device,
    }
    if args.resample is not None:
        params["resample"] = args.resample if args.resample == "fit" else int(args.resample)
    params = {k: v for k, v in params.items() if v is not None}
    if args.verbose:
        params["verbose"] = True
    return params


def main(argv=None):
    """Entry point of ``python cli.py`` and the ``voice2series`` command."""
    args = _parser().parse_args(argv)
    if args.command == "datasets":
        print("\n".join(bundled_datasets()))
        return 0
    if args.command == "explain":
        try:
            report = _explain(args)
        except (ValueError, FileNotFoundError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"wrote {len(report['figures'])} figures and {report['summary']} to {args.out}")
        distances = report["theorem1"]
        print(f"sliced Wasserstein to reference tones: {distances['before']:.4f} (series alone), "
              f"{distances['after']:.4f} (reprogrammed)")
        return 0
    try:
        result = run(args.dataset, seed=args.seed, **_run_params(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['dataset']}: test accuracy {result['accuracy']:.4f} "
            f"({result['n_test']} test series), fit {result['fit_seconds']:.1f} s, "
            f"{result['epochs']} epochs (best {result['best_epoch']}), seed {result['seed']}"
        )
    return 0
