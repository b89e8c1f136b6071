"""Command line: ``python cli.py run GunPoint`` (also installed as ``voice2series``)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .datasets import bundled_datasets, load_ucr
from .estimator import V2SClassifier
from .sources import available, pretrain, source_names


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


def format_sources(table):
    """The :func:`~voice2series.sources.available` table as aligned text lines.

    Sources that cannot be built offline get a line below the table saying
    how to obtain their weights.
    """
    shown = table.drop(columns="how_to_get").assign(
        n_parameters=[f"{n / 1e6:.2f} M" for n in table["n_parameters"]],
        offline=["yes" if ok else "no" for ok in table["offline"]],
    )
    lines = [shown.to_string()]
    for name, how in table.loc[~table["offline"], "how_to_get"].items():
        lines.append(f"{name}: {how}")
    return "\n".join(lines)


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
    pretrain_parser = commands.add_parser(
        "pretrain",
        help="train the paper's AttRNN source on Speech Commands and save its checkpoint",
        description="Train the attention-RNN keyword spotter (the paper's V2S_a source) on "
        "Google Speech Commands v2 and save a checkpoint that source='attrnn' loads.",
    )
    pretrain_parser.add_argument(
        "--root", required=True,
        help="Speech Commands folder (keyword sub-folders of .wav clips), or where to download it",
    )
    pretrain_parser.add_argument("--download", action="store_true", help="download the dataset first")
    pretrain_parser.add_argument("--output", default=None, help="checkpoint file (default: torch hub cache)")
    pretrain_parser.add_argument("--epochs", type=int, default=20)
    pretrain_parser.add_argument("--batch-size", type=int, default=64)
    pretrain_parser.add_argument("--seed", type=int, default=0)
    commands.add_parser(
        "sources",
        help="list the acoustic models, where their weights come from, and which work offline",
    )
    return parser


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


def _pretrain(args):
    try:
        result = pretrain(
            args.root, download=args.download, output=args.output, epochs=args.epochs,
            batch_size=args.batch_size, random_state=args.seed,
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"saved {result['checkpoint']} ({len(result['classes'])} keywords, best validation "
        f"accuracy {result['best_val_accuracy']:.4f}); use it with source='attrnn'"
    )
    return 0


def main(argv=None):
    """Entry point of ``python cli.py`` and the ``voice2series`` command."""
    args = _parser().parse_args(argv)
    if args.command == "datasets":
        print("\n".join(bundled_datasets()))
        return 0
    if args.command == "pretrain":
        return _pretrain(args)
    if args.command == "sources":
        print(format_sources(available()))
        return 0
    try:
        result = run(args.dataset, seed=args.seed, **_run_params(args))
    except (ValueError, OSError, ImportError) as error:  # OSError: weights not found/downloadable
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
