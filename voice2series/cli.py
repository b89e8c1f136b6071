"""Command line: ``python cli.py run GunPoint`` (also installed as ``voice2series``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .archive import load_dataset
from .benchmark import METHODS, run_benchmark
from .datasets import bundled_datasets, load_ucr
from .estimator import V2SClassifier
from .files import read_series_file, write_predictions
from .parameters import add_estimator_options, params_from_args
from .presets import PRESETS, make_preset
from .series_input import is_ragged
from .sources import available, pretrain


def run(X_train, y_train, X_test=None, y_test=None, *, seed=0, preset=None, save=None, name="data", **params):
    """Fit the classifier on a training split and score it once on a test split.

    Model selection (early stopping) uses a validation split carved from the
    training data; the test split is used once, for the returned accuracy.

    Parameters
    ----------
    X_train, y_train : array-like
        Training series and labels.
    X_test, y_test : array-like, optional
        Test series and labels; without them no accuracy is reported.
    seed : int, default=0
        ``random_state``.
    preset : str, optional
        A :func:`~voice2series.presets.make_preset` name; ``params`` apply on top.
    save : str or path-like, optional
        Write the fitted model there (:meth:`~voice2series.V2SClassifier.save`).
    name : str, default="data"
        What the result calls the data (a dataset name or a file name).
    **params
        :class:`~voice2series.V2SClassifier` parameters.

    Returns
    -------
    dict
        ``dataset``, ``seed``, ``accuracy`` (None without a test split),
        ``fit_seconds``, ``epochs``, ``best_epoch``, ``n_train``, ``n_test``,
        ``preset``, ``saved``, ``params``.
    """
    clf = make_preset(preset or "default", random_state=seed, **params)
    if save is not None and hasattr(clf, "estimators"):
        raise ValueError(f"--save stores one V2SClassifier; the {preset!r} preset is an ensemble (use pickle).")
    started = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - started
    # A source-choosing preset predicts with the model fitted on its chosen source.
    member = clf.estimators_[0] if hasattr(clf, "estimators_") else getattr(clf, "best_estimator_", clf)
    if save is not None:
        member.save(save)
    return {
        "dataset": name,
        "seed": seed,
        "accuracy": None if X_test is None else float(clf.score(X_test, y_test)),
        "fit_seconds": fit_seconds,
        "epochs": len(member.history_),
        "best_epoch": member.best_epoch_,
        "n_train": len(y_train),
        "n_test": None if y_test is None else len(y_test),
        "preset": preset,
        "saved": None if save is None else str(save),
        "params": {k: v for k, v in member.get_params().items() if k not in ("random_state", "verbose")},
    }


def predict_file(model_path, series_path, out=None, *, label_column=None, verbose=False):
    """Predict the series of a file with a saved model; write or return the predictions.

    Parameters
    ----------
    model_path : str or path-like
        A file written by :meth:`~voice2series.V2SClassifier.save`.
    series_path : str or path-like
        Series in a format :func:`~voice2series.files.read_series_file` reads.
    out : str or path-like, optional
        CSV to write (atomically); see :func:`~voice2series.files.write_predictions`.
    label_column : str, optional
        A column of true labels to leave out of the series (and score against).
    verbose : bool, default=False
        Progress bar over chunks of series.

    Returns
    -------
    dict
        ``n_series``, ``accuracy`` (None without labels), ``out``, and
        ``predictions`` (a DataFrame) when ``out`` is None.
    """
    clf = V2SClassifier.load(model_path)
    X, y = read_series_file(series_path, label_column=label_column, labelled=label_column is not None)
    if clf.n_channels_ == 1 and not is_ragged(X) and np.ndim(X) == 2 and np.shape(X)[1] != clf.n_features_in_:
        raise ValueError(
            f"{series_path} holds series of length {np.shape(X)[1]}, but the model was trained on "
            f"{clf.n_features_in_} values per series; pass series of the training length "
            "(or leave out the label column with --label-column)."
        )
    clf.verbose = verbose
    probabilities = clf.predict_proba(X)
    labels = clf.classes_[np.argmax(probabilities, axis=1)]
    result = {"n_series": len(labels), "accuracy": None if y is None else float(np.mean(labels.astype(str) == y))}
    if out is None:
        import pandas as pd

        table = pd.DataFrame(probabilities, columns=[f"proba_{c}" for c in clf.classes_])
        table.insert(0, "predicted", labels)
        return {**result, "out": None, "predictions": table}
    write_predictions(out, labels, probabilities, clf.classes_, y)
    return {**result, "out": str(out)}


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
        help="fit V2S on a dataset's train split (or your own files) and print test accuracy",
        description="Fit V2SClassifier on the official train split of a UCR dataset (bundled, in "
        "--ucr-root, or downloaded), or on your own --train file, and report accuracy on the test "
        "split once. Early stopping, when on, uses a validation split of the training data.",
    )
    run_parser.add_argument(
        "dataset",
        nargs="?",
        default=None,
        help=f"a UCR dataset name (bundled: {', '.join(bundled_datasets(False))}); or use --train",
    )
    files = run_parser.add_argument_group("your own data (.csv, .tsv, .ts, .parquet; see README 'Your own data')")
    files.add_argument("--train", default=None, help="file of labelled training series")
    files.add_argument("--test", default=None, help="file of labelled test series (optional)")
    files.add_argument("--label-column", default=None, help="label column of a CSV/Parquet file (default: the first)")
    data = run_parser.add_argument_group("UCR datasets beyond the bundled ones")
    data.add_argument("--ucr-root", default=None, help="local UCR archive folder (default: $VOICE2SERIES_UCR_ROOT)")
    data.add_argument("--no-download", action="store_true", help="never try to download")
    run_parser.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
    run_parser.add_argument("--preset", choices=sorted(PRESETS), default=None, help=_PRESET_HELP)
    run_parser.add_argument("--save", default=None, help="write the fitted model to this file (load with predict)")
    run_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_quiet(run_parser)
    add_estimator_options(run_parser.add_argument_group(_ESTIMATOR_GROUP), V2SClassifier)
    predict_parser = commands.add_parser(
        "predict",
        help="predict the series of a file with a saved model",
        description="Predict every series of a file with a model saved by 'run --save' (or "
        "V2SClassifier.save): one CSV row per series, in input order, with the predicted label "
        "and the class probabilities.",
    )
    predict_parser.add_argument("model", help="a saved model (.v2s)")
    predict_parser.add_argument("series", help="file of series (.csv, .tsv, .ts, .parquet)")
    predict_parser.add_argument("--out", default=None, help="CSV to write (default: print to standard output)")
    predict_parser.add_argument(
        "--label-column",
        default=None,
        help="a column of true labels to leave out of the series and score against (.tsv files always have one)",
    )
    _add_quiet(predict_parser)
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
        "--root",
        default=None,
        help="Speech Commands folder (keyword sub-folders of .wav clips), or where to download it",
    )
    pretrain_parser.add_argument(
        "--synthetic",
        action="store_true",
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
    _add_reproduce_parser(commands)
    return parser


def _add_reproduce_parser(commands):
    reproduce = commands.add_parser(
        "reproduce",
        help="audit the V2S paper's Table 2: its V2S_a beside the paper preset, honest and official protocol",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Fit the 'paper' preset (and the default) on the Table 2 datasets that can be loaded "
        "and write OUT/results.csv and OUT/report.md: the paper's V2S_a; ours selected on training data "
        "only (honest); ours under the OFFICIAL PROTOCOL (best epoch picked on the TEST split, as the "
        "official script reports it; shown only to measure the inflation); the classes left by the "
        "official label preprocessing; Bake Off Redux HC2 and MiniROCKET. Rerunning resumes "
        "(docs/reproduction.md).",
    )
    reproduce.add_argument(
        "--datasets",
        default="paper",
        help="comma-separated names, or 'paper' (the 30 of Table 2; the unreachable ones are listed)",
    )
    reproduce.add_argument("--configs", default="paper,default", help="comma-separated: paper, default")
    reproduce.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    reproduce.add_argument("--out", required=True, help="output folder (results.csv, curves.jsonl, report.md)")
    reproduce.add_argument(
        "--ucr-root", default=None, help="local UCR archive folder (default: $VOICE2SERIES_UCR_ROOT)"
    )
    reproduce.add_argument("--download", action="store_true", help="download datasets not found locally")
    reproduce.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="override the presets' epochs (a deviation, stated in the report; for smoke tests)",
    )
    reproduce.add_argument(
        "--report-only", action="store_true", help="fit nothing; rewrite OUT/report.md from OUT/results.csv"
    )
    _add_quiet(reproduce)


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
        "--datasets",
        default="offline",
        help="comma-separated names and groups: offline (bundled in packages), paper (the 30 of "
        "the V2S paper's Table 2), all (the 128 univariate UCR datasets)",
    )
    bench.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of the methods")
    bench.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 for V2S and MiniRocket")
    bench.add_argument("--out", default="bench-results", help="output folder (results.csv, report.md)")
    bench.add_argument("--n-jobs", type=int, default=1, help="parallel work units (-1: one per core)")
    bench.add_argument(
        "--resamples",
        type=int,
        default=1,
        help="resamples 0..N-1 per dataset: 0 is the official split, i > 0 a stratified shuffle seeded by i",
    )
    _add_quiet(bench)
    engine = bench.add_argument_group("where the units run (docs/cluster.md)")
    engine.add_argument(
        "--backend",
        choices=["loky", "dask"],
        default="loky",
        help="loky: --n-jobs local processes; dask: a Dask cluster (pip install 'voice2series[cluster]')",
    )
    engine.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address, e.g. tcp://HOST:8786 (default with --backend dask: a local "
        "cluster of --n-jobs worker processes)",
    )
    engine.add_argument(
        "--plan",
        action="store_true",
        help="print the projected core-hours per method and the wall time on --n-jobs workers; run nothing",
    )
    data = bench.add_argument_group("data")
    data.add_argument("--ucr-root", default=None, help="local UCR archive folder (default: $VOICE2SERIES_UCR_ROOT)")
    data.add_argument("--no-download", action="store_true", help="never try to download")
    data.add_argument("--download-timeout", type=float, default=120.0, help="seconds per dataset download")
    data.add_argument("--skip-missing", action="store_true", help="skip unavailable datasets instead of stopping")
    model = bench.add_argument_group(_ESTIMATOR_GROUP)
    model.add_argument(
        "--ensemble",
        type=int,
        default=1,
        help="soft-voting ensemble of N V2S models that differ in their seed (make_ensemble)",
    )
    model.add_argument("--preset", choices=sorted(PRESETS), default=None, help=_PRESET_HELP)
    add_estimator_options(model, V2SClassifier)


_ESTIMATOR_GROUP = "V2SClassifier parameters (unset: the estimator's defaults; docs/variants.md, docs/accuracy.md)"
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
    explain_parser.add_argument("--max-series", type=int, default=200, help="test series explained (default: 200)")
    explain_parser.add_argument(
        "--projections", type=int, default=1000, help="sliced Wasserstein projections (default: 1000)"
    )
    explain_parser.add_argument("--format", choices=["png", "svg"], default="png", help="image format")
    _add_quiet(explain_parser)


def _add_quiet(parser):
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress output (default: a progress bar on a terminal, one line per stage otherwise)",
    )


def _progress(args):
    """``"off"`` with --quiet, ``"bar"`` on a terminal, else ``"lines"`` (logs, CI, pipes)."""
    if args.quiet:
        return "off"
    return "bar" if sys.stderr.isatty() else "lines"


def _stage(args, message):
    """One progress line on standard error, when progress is shown as lines."""
    if _progress(args) == "lines":
        print(message, file=sys.stderr, flush=True)


def _explain(args):
    """Fit (or load) a model and write its explanation; returns the report dict."""
    try:
        from .report import explain_report
    except ImportError as error:
        raise ImportError(f"explain draws with matplotlib ({error}); pip install 'voice2series[plots]'.") from error

    if args.model is not None:
        _stage(args, f"loading {args.model}")
        clf = V2SClassifier.load(args.model)
    else:
        params = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
        _stage(args, f"fitting V2S on {args.dataset} (train split)")
        clf = V2SClassifier(random_state=args.seed, verbose=_progress(args) == "bar", **params)
        clf.fit(*load_ucr(args.dataset, "train"))
    X_test, y_test = load_ucr(args.dataset, "test")
    _stage(args, f"explaining up to {args.max_series} test series: figures, saliency, t-SNE, Theorem 1")
    return explain_report(clf, X_test, y_test, args.out, args.max_series, args.projections, args.seed, args.format)


def _run_params(args):
    return params_from_args(args, V2SClassifier)


def _run_data(args):
    """``(name, X_train, y_train, X_test, y_test)`` from a dataset name or --train/--test files."""
    if (args.dataset is None) == (args.train is None):
        raise ValueError("Give a dataset name or --train FILE (with an optional --test FILE), not both.")
    if args.train is not None:
        _stage(args, f"reading {args.train}" + (f" and {args.test}" if args.test else ""))
        X_train, y_train = read_series_file(args.train, label_column=args.label_column)
        X_test, y_test = (None, None)
        if args.test is not None:
            X_test, y_test = read_series_file(args.test, label_column=args.label_column)
        return Path(args.train).name, X_train, y_train, X_test, y_test
    _stage(args, f"loading {args.dataset}")
    if args.dataset in bundled_datasets(False):
        return (args.dataset, *load_ucr(args.dataset, "train"), *load_ucr(args.dataset, "test"))
    dataset = load_dataset(args.dataset, ucr_root=args.ucr_root, download=not args.no_download)
    return dataset.name, dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test


def _run(args):
    name, X_train, y_train, X_test, y_test = _run_data(args)
    _stage(args, f"fitting V2S on {len(y_train)} training series of {name}")
    result = run(
        X_train,
        y_train,
        X_test,
        y_test,
        seed=args.seed,
        preset=args.preset,
        save=args.save,
        name=name,
        verbose=_progress(args) == "bar",
        **_run_params(args),
    )
    _stage(args, f"fitted in {result['fit_seconds']:.1f} s" + (f"; saved {result['saved']}" if result["saved"] else ""))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    scored = (
        "no test split"
        if result["accuracy"] is None
        else (f"test accuracy {result['accuracy']:.4f} ({result['n_test']} test series)")
    )
    print(
        f"{result['dataset']}: {scored}, fit {result['fit_seconds']:.1f} s, "
        f"{result['epochs']} epochs (best {result['best_epoch']}), seed {result['seed']}"
        + (f"; model saved to {result['saved']}" if result["saved"] else "")
    )
    return 0


def _predict(args):
    _stage(args, f"predicting {args.series} with {args.model}")
    result = predict_file(
        args.model, args.series, args.out, label_column=args.label_column, verbose=_progress(args) == "bar"
    )
    scored = "" if result["accuracy"] is None else f", accuracy {result['accuracy']:.4f} against --label-column"
    if args.out is None:
        print(result["predictions"].to_csv(index_label="row"), end="")
        print(f"predicted {result['n_series']} series{scored}", file=sys.stderr)
    else:
        print(f"predicted {result['n_series']} series{scored}; wrote {result['out']}")
    return 0


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


def _bench_plan(args):
    from .benchmark import expand_datasets
    from .cost_model import format_plan, plan

    names = expand_datasets(args.datasets)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    params = _bench_params(args)
    result = plan(
        names, methods, seeds=args.seeds, resamples=args.resamples, v2s_params=params, workers=max(1, args.n_jobs)
    )
    print("\n".join(format_plan(result, len(names), args.seeds, args.resamples)))
    return 0


def _bench_run(args):
    if args.scheduler and args.backend != "dask":
        print("error: --scheduler needs --backend dask.", file=sys.stderr)
        return 2
    if args.plan:
        code, stopped = _one_line_errors(lambda: _bench_plan(args))
        return code if stopped is None else stopped
    result, stopped = _resumable(
        lambda: run_benchmark(
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
            quiet=_progress(args) != "bar",
            log=_bench_log(args),
            resamples=args.resamples,
            backend=args.backend,
            backend_params={"scheduler": args.scheduler} if args.scheduler else None,
        ),
        args.out,
    )
    if result is None:
        return stopped
    print(f"{result.n_new} new and {result.n_resumed} resumed rows in {result.csv_path}; report: {result.report_path}")
    return 0


def _one_line_errors(job):
    """``(job(), None)``, or ``(None, 2)`` after printing a ValueError as one line."""
    try:
        return job(), None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return None, 2


def _resumable(job, out):
    """Run a job that writes rows to ``out`` and resumes: ``(result, None)``, or
    ``(None, exit code)`` after one line on why it stopped (a bad option, Ctrl-C)."""
    try:
        return _one_line_errors(job)
    except KeyboardInterrupt:
        print(
            f"interrupted: finished rows are in {out}/results.csv; rerun the same command to continue.", file=sys.stderr
        )
        return None, 130


def _bench_log(args):
    if _progress(args) == "off":
        return lambda line: None
    return lambda line: print(line, file=sys.stderr, flush=True)


def _reproduce(args):
    from .reproduction import run_reproduction

    datasets = None if args.datasets == "paper" else [n.strip() for n in args.datasets.split(",") if n.strip()]
    params = {} if args.max_epochs is None else {"max_epochs": args.max_epochs}
    result, stopped = _resumable(
        lambda: run_reproduction(
            datasets,
            args.out,
            seeds=args.seeds,
            configs=[c.strip() for c in args.configs.split(",")],
            ucr_root=args.ucr_root,
            download=args.download,
            params=params,
            log=_bench_log(args),
            fit=not args.report_only,
        ),
        args.out,
    )
    if result is None:
        return stopped
    print(
        f"{result['n_new']} new and {result['n_resumed']} resumed rows in {result['csv']}; report: {result['report']}"
    )
    return 0


def _pretrain(args):
    try:
        result = pretrain(
            args.root,
            synthetic=args.synthetic,
            download=args.download,
            output=args.output,
            epochs=args.epochs,
            batch_size=args.batch_size,
            random_state=args.seed,
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    use = f"AttRNNSource(checkpoint={result['checkpoint']!r})" if args.synthetic else "source='attrnn'"
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
    if args.command == "reproduce":
        return _reproduce(args)
    if args.command == "explain":
        try:
            report = _explain(args)
        except (ValueError, FileNotFoundError, ImportError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"wrote {len(report['figures'])} figures and {report['summary']} to {args.out}")
        distances = report["theorem1"]
        print(
            f"sliced Wasserstein to reference tones: {distances['before']:.4f} (series alone), "
            f"{distances['after']:.4f} (reprogrammed)"
        )
        return 0
    handler = _run if args.command == "run" else _predict
    try:
        return handler(args)
    except (ValueError, OSError, ImportError) as error:  # OSError: missing files, weights not found
        print(f"error: {error}", file=sys.stderr)
        return 2
