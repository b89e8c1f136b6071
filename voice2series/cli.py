"""Command line: ``python cli.py run GunPoint`` (also installed as ``voice2series``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

from .benchmark import METHODS, run_benchmark
from .datasets import bundled_datasets, load_ucr
from .estimator import V2SClassifier
from .parameters import add_estimator_options, params_from_args
from .presets import PRESETS, make_preset
from .sources import available, pretrain


def run(dataset, seed=0, preset=None, **params):
    """Fit the classifier on a bundled dataset's train split, score on its test split.

    Model selection (early stopping) uses a validation split carved from the
    training data; the test split is used once, for the returned accuracy.

    Parameters
    ----------
    dataset : str
    seed : int
        ``random_state``.
    preset : str, optional
        A :func:`~voice2series.presets.make_preset` name; ``params`` apply on top.
    **params
        :class:`~voice2series.V2SClassifier` parameters.

    Returns
    -------
    dict
        ``dataset``, ``accuracy``, ``fit_seconds``, ``epochs``, ``best_epoch``,
        ``params``.
    """
    X_train, y_train = load_ucr(dataset, "train")
    X_test, y_test = load_ucr(dataset, "test")
    clf = make_preset(preset or "default", random_state=seed, **params)
    started = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - started
    return {
        "dataset": dataset,
        "seed": seed,
        "accuracy": float(clf.score(X_test, y_test)),
        "fit_seconds": fit_seconds,
        "epochs": len(_first_member(clf).history_),
        "best_epoch": _first_member(clf).best_epoch_,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "preset": preset,
        "params": {k: v for k, v in _first_member(clf).get_params().items() if k != "random_state"},
    }


def _first_member(clf):
    """The classifier itself, or the first member of a preset's ensemble."""
    return clf.estimators_[0] if hasattr(clf, "estimators_") else clf


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
    run_parser.add_argument("--preset", choices=sorted(PRESETS), default=None, help=_PRESET_HELP)
    run_parser.add_argument("--verbose", action="store_true", help="show a progress bar")
    run_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_estimator_options(run_parser.add_argument_group(_ESTIMATOR_GROUP), V2SClassifier)
    commands.add_parser("datasets", help="list the UCR datasets available offline")
    _add_bench_parser(commands)
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
    _add_explain_parser(commands)
    return parser


def _add_bench_parser(commands):
    bench = commands.add_parser(
        "bench",
        help="benchmark V2S against MiniRocket, 1-NN ED and 1-NN DTW on UCR datasets",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Fit V2SClassifier and baselines on the official train split of UCR "
        "datasets, score each fitted model once on the test split, and write OUT/results.csv "
        "(one row per dataset x method x seed) and OUT/report.md (mean ± std beside the V2S "
        "paper's Table 2 and the bake-off redux). Rerunning the same command resumes. Data "
        "comes from installed packages, then --ucr-root / $VOICE2SERIES_UCR_ROOT "
        "(UCRArchive_2018/<Name>/<Name>_TRAIN.tsv), then a download through aeon.",
    )
    bench.add_argument(
        "--datasets", default="offline",
        help="comma-separated names and groups: offline (bundled in packages), paper (the 30 of "
        "the V2S paper's Table 2), all (the 128 univariate UCR datasets)",
    )
    bench.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of the methods")
    bench.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 for V2S and MiniRocket")
    bench.add_argument("--out", default="bench-results", help="output folder (results.csv, report.md)")
    bench.add_argument("--n-jobs", type=int, default=1, help="parallel work units (-1: one per core)")
    bench.add_argument("--quiet", action="store_true", help="one log line per finished unit, no progress bar")
    data = bench.add_argument_group("data")
    data.add_argument("--ucr-root", default=None, help="local UCR archive folder (default: $VOICE2SERIES_UCR_ROOT)")
    data.add_argument("--no-download", action="store_true", help="never try to download")
    data.add_argument("--download-timeout", type=float, default=120.0, help="seconds per dataset download")
    data.add_argument("--skip-missing", action="store_true", help="skip unavailable datasets instead of stopping")
    model = bench.add_argument_group(_ESTIMATOR_GROUP)
    model.add_argument(
        "--ensemble", type=int, default=1,
        help="soft-voting ensemble of N V2S models that differ in their seed (make_ensemble)",
    )
    model.add_argument("--preset", choices=sorted(PRESETS), default=None, help=_PRESET_HELP)
    add_estimator_options(model, V2SClassifier)


_ESTIMATOR_GROUP = (
    "V2SClassifier parameters (unset: the estimator's defaults, except the bench's resample='auto'; "
    "docs/variants.md, docs/accuracy.md)"
)
_PRESET_HELP = "a named configuration of voice2series.presets (other options apply on top)"


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
    explain_parser.add_argument("--format", choices=["png", "svg"], default="png", help="image format")


def _explain(args):
    """Fit (or load) a model and write its explanation; returns the report dict."""
    try:
        from .report import explain_report
    except ImportError as error:
        raise ImportError(f"explain draws with matplotlib ({error}); pip install 'voice2series[plots]'.") from error

    if args.model is not None:
        clf = V2SClassifier.load(args.model)
    else:
        params = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
        clf = V2SClassifier(random_state=args.seed, **params).fit(*load_ucr(args.dataset, "train"))
    X_test, y_test = load_ucr(args.dataset, "test")
    return explain_report(
        clf, X_test, y_test, args.out, args.max_series, args.projections, args.seed, args.format
    )


def _run_params(args):
    params = params_from_args(args, V2SClassifier)
    if args.verbose:
        params["verbose"] = True
    return params


def _bench_params(args):
    params = params_from_args(args, V2SClassifier)
    if args.ensemble < 1:
        raise ValueError(f"--ensemble must be at least 1, got {args.ensemble}.")
    if args.ensemble > 1:
        params["ensemble"] = args.ensemble
    if args.preset is not None:
        if args.ensemble > 1:
            raise ValueError("--preset and --ensemble cannot be combined; a preset names its own members.")
        params["preset"] = args.preset
    return params


def _bench(args):
    with warnings.catch_warnings():
        # One line per warning (e.g. a dropped corrupt row), not a source excerpt.
        warnings.showwarning = lambda message, *rest, **kw: print(f"warning: {message}", file=sys.stderr)
        return _bench_run(args)


def _bench_run(args):
    try:
        result = run_benchmark(
            args.datasets,
            args.out,
            methods=args.methods,
            seeds=args.seeds,
            v2s_params=_bench_params(args),
            n_jobs=args.n_jobs,
            ucr_root=args.ucr_root,
            download=not args.no_download,
            download_timeout=args.download_timeout,
            skip_missing=args.skip_missing,
            quiet=args.quiet,
            log=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: finished rows are in {args.out}/results.csv; rerun the same command to continue.",
              file=sys.stderr)
        return 130
    print(f"{result.n_new} new and {result.n_resumed} resumed rows in {result.csv_path}; report: {result.report_path}")
    return 0


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
    if args.command == "bench":
        return _bench(args)
    if args.command == "datasets":
        print("\n".join(bundled_datasets()))
        return 0
    if args.command == "pretrain":
        return _pretrain(args)
    if args.command == "sources":
        print(format_sources(available()))
        return 0
    if args.command == "explain":
        try:
            report = _explain(args)
        except (ValueError, FileNotFoundError, ImportError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"wrote {len(report['figures'])} figures and {report['summary']} to {args.out}")
        distances = report["theorem1"]
        print(f"sliced Wasserstein to reference tones: {distances['before']:.4f} (series alone), "
              f"{distances['after']:.4f} (reprogrammed)")
        return 0
    try:
        result = run(args.dataset, seed=args.seed, preset=args.preset, **_run_params(args))
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
