"""Command line: ``python cli.py run GunPoint`` (also installed as ``voice2series``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

from .benchmark import METHODS, run_benchmark
from .datasets import bundled_datasets, load_ucr
from .estimator import FINETUNES, TRAININGS, V2SClassifier
from .mapping import MAPPINGS
from .presets import PRESETS
from .sources import available, pretrain, source_names
from .training import LR_SCHEDULES


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
    run_parser.add_argument("--mapping", choices=MAPPINGS, default=None, help="label mapping")
    run_parser.add_argument("--max-epochs", type=int, default=None)
    run_parser.add_argument("--segments", type=int, default=None)
    run_parser.add_argument("--resample", default=None, help="'fit', 'auto' or a target length")
    run_parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N")
    run_parser.add_argument("--verbose", action="store_true", help="show a progress bar")
    run_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_variant_options(run_parser.add_argument_group("variants (docs/variants.md) and tuning (docs/accuracy.md)"))
    commands.add_parser("datasets", help="list the UCR datasets available offline")
    _add_bench_parser(commands)
    pretrain_parser = commands.add_parser(
        "pretrain",
        help="train the paper's AttRNN source on Speech Commands and save its checkpoint",
        description="Train the attention-RNN keyword spotter (the paper's V2S_a source) on "
        "Google Speech Commands v2 and save a checkpoint that source='attrnn' loads. With "
        "--synthetic, train the offline stand-in on keywords synthesised by espeak-ng instead.",
    )
    pretrain_parser.add_argument(
        "--root", default=None,
        help="Speech Commands folder (keyword sub-folders of .wav clips), or where to download it",
    )
    pretrain_parser.add_argument(
        "--synthetic", action="store_true",
        help="instead of --root, train on keywords synthesised by espeak-ng (the 'attrnn-synth' "
        "stand-in's recipe; needs apt-get install espeak-ng)",
    )
    pretrain_parser.add_argument("--download", action="store_true", help="download the dataset first")
    pretrain_parser.add_argument("--output", default=None, help="checkpoint file (default: torch hub cache)")
    pretrain_parser.add_argument("--epochs", type=int, default=None, help="default: 20, or 6 with --synthetic")
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
    model = bench.add_argument_group("V2S estimator (defaults: V2SClassifier's)")
    model.add_argument("--source", choices=source_names(), default=None, help="acoustic model")
    model.add_argument("--mapping", choices=MAPPINGS, default=None, help="label mapping")
    model.add_argument("--epochs", type=int, default=None, help="max_epochs")
    model.add_argument("--learning-rate", type=float, default=None)
    model.add_argument("--batch-size", type=int, default=None)
    model.add_argument("--segments", type=int, default=None)
    model.add_argument(
        "--resample", default="auto",
        help="'auto' (stretch to fit only series longer than the source input), 'none', 'fit' or a length",
    )
    model.add_argument("--early-stopping", choices=["auto", "true", "false"], default=None)
    model.add_argument(
        "--ensemble", type=int, default=1,
        help="soft-voting ensemble of N V2S models that differ in their seed (make_ensemble)",
    )
    model.add_argument(
        "--preset", choices=sorted(PRESETS), default=None,
        help="a named configuration of voice2series.presets (other options apply on top)",
    )
    model.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N")
    _add_variant_options(model)


def _add_variant_options(group):
    """Options of the reprogramming variants; unset ones keep V2SClassifier's defaults."""
    group.add_argument("--mapping-update-every", type=int, default=None, help="ilm/blm/blm++: epochs between updates")
    group.add_argument("--blm-lambda", type=float, default=None, help="blm/blm++: Laplace smoothing")
    group.add_argument("--blm-topk-ratio", type=float, default=None, help="blm++: top-k ratio")
    group.add_argument("--training", choices=TRAININGS, default=None, help="white-box (backprop) or black-box (ZO)")
    group.add_argument("--zo-queries", type=int, default=None, help="black-box: random directions per step")
    group.add_argument("--zo-smoothing", type=float, default=None, help="black-box: perturbation size beta")
    group.add_argument("--query-budget", type=int, default=None, help="black-box: most source queries in fit")
    group.add_argument("--finetune", choices=FINETUNES, default=None, help="also train source weights")
    group.add_argument("--finetune-learning-rate", type=float, default=None)
    group.add_argument(
        "--sample-specific-mask", action="store_true", default=None, help="per-series program mask (SMM)"
    )
    group.add_argument("--amplitude", type=float, default=None, help="factor on the series before placement")
    group.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None, help="step size over the epochs")
    group.add_argument("--label-smoothing", type=float, default=None, help="label smoothing of the loss")


_VARIANT_OPTIONS = (
    "mapping_update_every", "blm_lambda", "blm_topk_ratio", "training", "zo_queries", "zo_smoothing",
    "query_budget", "finetune", "finetune_learning_rate", "sample_specific_mask",
    "amplitude", "lr_schedule", "label_smoothing",
)


def _variant_params(args):
    return {name: getattr(args, name) for name in _VARIANT_OPTIONS if getattr(args, name) is not None}


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
    from .explain import explain_report

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
    params = {
        "source": args.source,
        "mapping": args.mapping,
        "max_epochs": args.max_epochs,
        "segments": args.segments,
        "device": args.device,
    }
    if args.resample is not None:
        params["resample"] = args.resample if args.resample in ("fit", "auto") else int(args.resample)
    params = {k: v for k, v in params.items() if v is not None}
    if args.verbose:
        params["verbose"] = True
    return {**params, **_variant_params(args)}


def _bench_params(args):
    params = {
        "source": args.source,
        "mapping": args.mapping,
        "max_epochs": args.epochs,
        "learning_rate": args.learning_rate,
        "batch_size": args.batch_size,
        "segments": args.segments,
        "device": args.device,
    }
    if args.early_stopping is not None:
        params["early_stopping"] = {"true": True, "false": False}.get(args.early_stopping, "auto")
    resample = args.resample.lower()
    if resample not in {"auto", "none", "fit"} and not resample.isdigit():
        raise ValueError(f"--resample must be auto, none, fit or a positive integer, got {args.resample!r}.")
    params["resample"] = {"none": None}.get(resample, resample if not resample.isdigit() else int(resample))
    if args.ensemble < 1:
        raise ValueError(f"--ensemble must be at least 1, got {args.ensemble}.")
    if args.ensemble > 1:
        params["ensemble"] = args.ensemble
    if args.preset is not None:
        if args.ensemble > 1:
            raise ValueError("--preset and --ensemble cannot be combined; a preset names its own members.")
        params["preset"] = args.preset
    params.update(_variant_params(args))
    return {k: v for k, v in params.items() if v is not None or k == "resample"}


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
            args.root, synthetic=args.synthetic, download=args.download, output=args.output,
            epochs=args.epochs, batch_size=args.batch_size, random_state=args.seed,
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    use = (f"AttRNNSource(checkpoint={result['checkpoint']!r})" if args.synthetic
           else "source='attrnn'")
    print(
        f"saved {result['checkpoint']} ({len(result['classes'])} keywords, best validation "
        f"accuracy {result['best_val_accuracy']:.4f}); use it with {use}"
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
