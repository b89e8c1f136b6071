"""Benchmark V2SClassifier against standard baselines on UCR datasets.

Protocol: the official UCR train/test split of every dataset (resample 0) and,
with ``resamples > 1``, stratified reshuffles of train+test with the official
sizes (resample ``i`` seeded by ``i``, the same for every method; see
:func:`voice2series.archive.resample_split`). Each method sees
the training split only while it is fitted (V2SClassifier selects its epoch on a
validation split carved from the training data); the test split is predicted
once per fitted model. Stochastic methods run once per seed; deterministic
ones (the 1-NN classifiers) once per dataset.

Results are appended, one flushed CSV row per dataset x method x seed x
configuration x resample, so an interrupted run continues where it stopped when
rerun with the same arguments. The units run in this process, in local
processes or on a Dask cluster (:mod:`voice2series.cluster`), longest first by
:mod:`voice2series.cost_model`; this process alone writes the CSV.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.util
import json
import os
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from . import __version__
from .archive import load_dataset, resample_split, ucr_names
from .cluster import parallelize, worker_threads
from .cost_model import default_model
from .datasets import bundled_datasets
from .parameters import VALUES_BEFORE_DEFAULT_CHANGED
from .threads import available_cores

__all__ = [
    "METHODS",
    "append_row",
    "BenchmarkResult",
    "expand_datasets",
    "make_estimator",
    "method_labels",
    "read_results",
    "resample_of",
    "series_as_read",
    "run_benchmark",
    "write_report",
]

METHODS = ("v2s", "minirocket", "1nn-euclidean", "1nn-dtw")
DETERMINISTIC = frozenset({"1nn-euclidean", "1nn-dtw"})
METHOD_LABELS = {
    "v2s": "V2S (this run)",
    "minirocket": "MiniRocket",
    "1nn-euclidean": "1-NN ED",
    "1nn-dtw": "1-NN DTW",
}
COLUMNS = [
    "dataset",
    "method",
    "seed",
    "accuracy",
    "balanced_accuracy",
    "fit_seconds",
    "predict_seconds",
    "warmup_seconds",
    "peak_rss_mb",
    "n_train",
    "n_test",
    "n_timepoints",
    "n_classes",
    "threads",
    "data_origin",
    "config",
    "key",
    "voice2series_version",
    "backend",
    "finished_at",
    "program_fraction",
]
# Results files written before round 2 lack the last column; their rows are
# read with it empty, so a new run can resume (and extend) them.
_LEGACY_COLUMNS = COLUMNS[:-1]
_DATA = Path(__file__).resolve().parent / "data"


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` wrote.

    Attributes
    ----------
    csv_path, report_path : Path
    rows : list of dict
        The rows of this configuration (resumed and new), in CSV form.
    n_new, n_resumed : int
        Rows computed now, rows found in the CSV from an earlier run.
    """

    csv_path: Path
    report_path: Path
    rows: list
    n_new: int
    n_resumed: int


# --------------------------------------------------------------------- datasets
def expand_datasets(spec):
    """Dataset names from a comma-separated list of names and groups.

    Parameters
    ----------
    spec : str or list of str
        Names, or the groups ``offline`` (bundled with installed packages),
        ``paper`` (the 30 datasets of the V2S paper's Table 2) and ``all`` (the
        128 univariate UCR datasets).

    Returns
    -------
    list of str
        Without duplicates, in the order given.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    groups = {
        "offline": lambda: bundled_datasets(univariate_only=True),
        "paper": lambda: list(_read_table("v2s_paper_table2.csv")),
        "all": ucr_names,
    }
    names = []
    for item in (i.strip() for i in items):
        if item:
            names.extend(groups[item.lower()]() if item.lower() in groups else [item])
    if not names:
        raise ValueError(f"No datasets in {spec!r}; give names or one of {sorted(groups)}.")
    return list(dict.fromkeys(names))


def _read_table(filename):
    """A shipped reference table as {dataset: {column: str}}."""
    with open(_DATA / filename, newline="") as handle:
        return {row["dataset"]: row for row in csv.DictReader(handle)}


# ---------------------------------------------------------------------- methods
def make_estimator(method, seed, v2s_params, threads=1):
    """A fresh, unfitted estimator for one method.

    Parameters
    ----------
    method : {"v2s", "minirocket", "1nn-euclidean", "1nn-dtw"}
    seed : int or None
        ``random_state`` of the stochastic methods.
    v2s_params : dict
        Parameters of :class:`~voice2series.V2SClassifier`.
    threads : int, default=1
        Threads the estimator may use.

    Returns
    -------
    estimator, backend : object, str
        The estimator and the package (with version) that implements it.
    """
    if method == "v2s":
        from .estimator import V2SClassifier
        from .presets import make_ensemble, make_preset

        params = dict(v2s_params)
        n_members = params.pop("ensemble", 1)
        preset = params.pop("preset", None)
        if preset is not None:
            if n_members > 1:
                raise ValueError("Pass either a preset or ensemble, not both.")
            return make_preset(preset, random_state=seed, **params), f"torch {_version('torch')}"
        if n_members > 1:
            return make_ensemble(n_members, random_state=seed, **params), f"torch {_version('torch')}"
        return V2SClassifier(random_state=seed, **params), f"torch {_version('torch')}"
    if method == "1nn-euclidean":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=1, algorithm="brute"), f"scikit-learn {_version('scikit-learn')}"
    if method == "minirocket":
        # aeon's MiniRocket gives sktime's accuracy several times faster.
        from aeon.classification.convolution_based import MiniRocketClassifier

        return MiniRocketClassifier(random_state=seed, n_jobs=threads), f"aeon {_version('aeon')}"
    if method == "1nn-dtw":
        from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

        # distance_params=None: DTW with a full warping window, as in the bake-off.
        return (
            KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1, n_jobs=threads),
            f"aeon {_version('aeon')}",
        )
    raise ValueError(f"Unknown method {method!r}; use one of {list(METHODS)}.")


def _version(package):
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _config(method, estimator):
    """The parameters that decide a method's results (threads excluded)."""
    extra = {}
    if hasattr(estimator, "estimators"):  # a make_ensemble VotingClassifier
        members = [_decisive_params(member) for _, member in estimator.estimators]
        extra = {"ensemble": len(members)}
        if any(member != members[0] for member in members):
            extra["members"] = members
        estimator = estimator.estimators[0][1]
    params = _decisive_params(estimator)
    params.update(extra)
    return json.dumps({"method": method, **params}, sort_keys=True, default=str)


def _decisive_params(estimator):
    return {k: v for k, v in estimator.get_params().items() if k not in {"random_state", "verbose", "n_jobs"}}


# ------------------------------------------------------------------ work units
@dataclass(frozen=True)
class _Unit:
    dataset: str
    method: str
    seed: object  # int, or None for deterministic methods
    params: tuple  # V2S parameters as sorted items (hashable)
    resample: int = 0  # 0: the official split

    def key_and_config(self):
        estimator, _ = make_estimator(self.method, self.seed, dict(self.params))
        config = _config(self.method, estimator)
        digest = hashlib.sha1(config.encode()).hexdigest()[:12]
        seed = "-" if self.seed is None else self.seed
        # Resample 0 keeps the key of the official-split runs written before resamples existed.
        suffix = f"|r{self.resample}" if self.resample else ""
        return f"{self.dataset}|{self.method}|{seed}|{digest}{suffix}", config


def resample_of(row):
    """The resample index of a results row (0, the official split, for keys without one).

    Parameters
    ----------
    row : dict

    Returns
    -------
    int
    """
    last = str(row.get("key", "")).rsplit("|", 1)[-1]
    return int(last[1:]) if last[:1] == "r" and last[1:].isdigit() else 0


_WARMED = set()


def _warm_up(method, threads):
    """Compile a method's numba code once per process; return the seconds it took."""
    if method in _WARMED or method not in {"minirocket", "1nn-dtw"}:
        return 0.0
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 40)), np.array(["a", "b"] * 6)
    started = time.perf_counter()
    estimator, _ = make_estimator(method, 0, {}, threads)
    estimator.fit(X, y).predict(X)
    _WARMED.add(method)
    return time.perf_counter() - started


def series_as_read(estimator, data):
    """A dataset's training and test series as ``estimator`` reads them.

    Each series at its own length for an estimator set to
    ``unequal_lengths="own"`` on a variable-length dataset; otherwise the
    equalised arrays every method gets.

    Parameters
    ----------
    estimator : estimator
    data : voice2series.archive.UCRDataset

    Returns
    -------
    X_train, X_test : ndarray or list of ndarray
    """
    if data.X_train_own is not None and getattr(estimator, "unequal_lengths", None) == "own":
        return data.X_train_own, data.X_test_own
    return data.X_train, data.X_test


def _run_unit(unit, data, threads, key, config):
    """Fit one method on one dataset's training split, score the test split once."""
    import torch

    torch.set_num_threads(threads)
    with warnings.catch_warnings():
        # numba's type-safety notes and V2S's "no early stopping" note are not results.
        warnings.simplefilter("ignore")
        warmup = _warm_up(unit.method, threads)
        estimator, backend = make_estimator(unit.method, unit.seed, dict(unit.params), threads)
        _reset_peak_rss()
        started = time.perf_counter()
        X_train, X_test = series_as_read(estimator, data)
        estimator.fit(X_train, data.y_train)
        fitted = time.perf_counter()
        predicted = estimator.predict(X_test)
        done = time.perf_counter()
    return {
        "dataset": unit.dataset,
        "method": unit.method,
        "seed": "" if unit.seed is None else unit.seed,
        "accuracy": f"{accuracy_score(data.y_test, predicted):.6f}",
        "balanced_accuracy": f"{balanced_accuracy_score(data.y_test, predicted):.6f}",
        "fit_seconds": f"{fitted - started:.3f}",
        "predict_seconds": f"{done - fitted:.3f}",
        "warmup_seconds": f"{warmup:.3f}",
        "peak_rss_mb": f"{_peak_rss_mb():.1f}",
        "n_train": len(data.y_train),
        "n_test": len(data.y_test),
        "n_timepoints": data.X_train.shape[1],
        "n_classes": len(set(data.y_train)),
        "threads": threads,
        "data_origin": data.origin,
        "config": config,
        "key": key,
        "voice2series_version": __version__,
        "backend": backend,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "program_fraction": _program_fraction(estimator),
    }


def _reset_peak_rss():
    """Reset the kernel's peak-RSS counter so it measures this unit only (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass  # elsewhere the column is the process's peak so far


def _peak_rss_mb():
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------- results
def read_results(path):
    """Rows already in a results CSV, dropping a corrupt last line with a warning.

    A run killed while writing can leave a partial last line; it is removed
    from the file (the unit is then computed again). Corruption anywhere else
    is an error, since it cannot come from an interruption.

    Parameters
    ----------
    path : Path

    Returns
    -------
    list of dict
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return []
    lines = path.read_text().splitlines(keepends=True)
    if len(lines) == 1 and not lines[0].endswith("\n"):
        path.write_text("")  # killed while writing the header
        return []
    header = next(csv.reader([lines[0]]))
    if header == _LEGACY_COLUMNS:
        lines = _upgrade_legacy(path, lines)
    elif header != COLUMNS:
        raise ValueError(f"{path} is not a results file of this version (columns differ); choose another --out.")
    # Parse line by line: a cut-off quoted field must not swallow the lines after it.
    body = [(line, next(csv.reader([line]), [])) for line in lines[1:]]
    bad = [i for i, (line, row) in enumerate(body) if not (line.endswith("\n") and _valid(row))]
    if bad and bad != [len(body) - 1]:
        raise ValueError(
            f"{path} has corrupt rows before its last line (line {bad[0] + 2}); it was not "
            "written by an interrupted run. Move it away or choose another --out."
        )
    if bad:
        warnings.warn(
            f"Dropped the corrupt last line of {path} (an interrupted write); that unit runs again.",
            UserWarning,
            stacklevel=2,
        )
        body = body[:-1]
        path.write_text(lines[0] + "".join(line for line, _ in body))
    return [dict(zip(COLUMNS, row)) for _, row in body]


def _upgrade_legacy(path, lines):
    """Rewrite a pre-round-2 results file with an empty ``program_fraction`` column."""
    upgraded = [",".join(COLUMNS) + "\n"]
    for line in lines[1:]:
        row = next(csv.reader([line]), [])
        if line.endswith("\n") and len(row) == len(_LEGACY_COLUMNS):
            line = line[:-1] + ",\n"
        upgraded.append(line)
    path.write_text("".join(upgraded))
    return upgraded


def _program_fraction(estimator):
    """Share of the waveform the fitted program acts on ("" for a baseline);
    the mean over the members of an ensemble."""
    members = list(getattr(estimator, "estimators_", [estimator]))
    fractions = [m.program_fraction_ for m in members if hasattr(m, "program_fraction_")]
    return f"{np.mean(fractions):.4f}" if fractions else ""


def _valid(row):
    if len(row) != len(COLUMNS):
        return False
    try:
        return 0.0 <= float(row[COLUMNS.index("accuracy")]) <= 1.0 and bool(row[COLUMNS.index("finished_at")])
    except ValueError:
        return False


def append_row(path, row, fieldnames=COLUMNS):
    """Append one CSV row (header first in a new file) and force it to disk.

    A kill then loses at most the unit in flight. Also used by the research
    scripts under ``benchmarks/`` for their own columns.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow(row)
        handle.flush()
        os.fsync(handle.fileno())


# ------------------------------------------------------------------ the run
def run_benchmark(
    datasets,
    out,
    methods=METHODS,
    seeds=1,
    v2s_params=None,
    n_jobs=1,
    ucr_root=None,
    download=True,
    download_timeout=120.0,
    skip_missing=False,
    quiet=False,
    log=print,
    resamples=1,
    backend="loky",
    backend_params=None,
):
    """Benchmark methods on UCR datasets; write ``results.csv`` and ``report.md``.

    Parameters
    ----------
    datasets : str or list of str
        Names and groups, see :func:`expand_datasets`.
    out : str or Path
        Output folder; rerunning with the same arguments resumes.
    methods : sequence of str, default=METHODS
    seeds : int, default=1
        Seeds ``0 .. seeds-1`` for the stochastic methods.
    v2s_params : dict, optional
        :class:`~voice2series.V2SClassifier` parameters (unset: the
        estimator's defaults).
    n_jobs : int, default=1
        Parallel work units; ``-1`` for one per core. Each local worker gets
        ``cores // n_jobs`` threads (on a Dask cluster: its worker's ``nthreads``).
    ucr_root : str or Path, optional
        Local archive copy (see :func:`voice2series.archive.load_dataset`).
    download : bool, default=True
    download_timeout : float, default=120.0
    skip_missing : bool, default=False
        Benchmark the datasets that are available instead of stopping when
        some are not.
    quiet : bool, default=False
        Log one line per finished unit instead of a progress bar.
    log : callable, default=print
        Receives log lines.
    resamples : int, default=1
        Resamples ``0 .. resamples-1`` of every dataset (0: the official split).
    backend : {"loky", "dask", "none"}, default="loky"
        Engine of :func:`voice2series.cluster.parallelize`: ``"loky"`` runs
        ``n_jobs`` local processes (this process when ``n_jobs=1``); ``"dask"``
        runs on the Dask scheduler ``backend_params["scheduler"]``, or on a local
        cluster of ``n_jobs`` worker processes when none is given. Dataset arrays
        travel with each unit: Dask workers need no access to this machine's files.
    backend_params : dict, optional
        Passed to the engine (e.g. ``{"scheduler": "tcp://host:8786"}``).

    Returns
    -------
    BenchmarkResult
    """
    methods = _check_methods(methods)
    if int(seeds) < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    if int(resamples) < 1:
        raise ValueError(f"resamples must be at least 1 (1: the official split only), got {resamples}.")
    if backend not in ("none", "loky", "dask"):
        raise ValueError(f"Unknown backend {backend!r}; use one of ['loky', 'dask', 'none'].")
    v2s_params = dict(v2s_params or {})
    names = expand_datasets(datasets)
    out = Path(out)
    data = _load_all(names, ucr_root, download, download_timeout, skip_missing, log)
    units = _plan(data, methods, int(seeds), v2s_params, int(resamples))
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "results.csv"
    done = {row["key"]: row for row in read_results(csv_path)}
    wanted = [(unit, *unit.key_and_config()) for unit in units]
    wanted = _stored_keys(wanted, done, {name for name, dataset in data.items() if dataset.X_train_own is None})
    pending = [(unit, key, config) for unit, key, config in wanted if key not in done]
    n_resumed = len(wanted) - len(pending)
    if n_resumed:
        log(f"resuming: {n_resumed} of {len(wanted)} units already in {csv_path}")
    pending = _longest_first(pending, data)
    new = _execute(pending, data, csv_path, n_jobs, quiet, log, backend, backend_params)
    done.update({row["key"]: row for row in new})
    rows = [done[key] for _, key, _ in wanted]
    report_path = write_report(
        rows, out / "report.md", seeds=int(seeds), methods=methods, names=list(data), resamples=int(resamples)
    )
    return BenchmarkResult(csv_path, report_path, rows, len(new), n_resumed)


#: V2S parameters that change nothing on a dataset whose series share one
#: length (tests/test_series_input.py checks it): there a stored row stands
#: for every value of them.
ONE_LENGTH_INDIFFERENT = ("unequal_lengths",)


def _stored_keys(wanted, done, one_length=frozenset()):
    """Each wanted unit's key, or the key of a stored row that ran the same
    configuration before some of today's V2S parameters existed.

    A key hashes every parameter, so adding one changes every V2S key; a row
    written earlier matches when its configuration, completed with the values
    its missing parameters stand for (today's defaults, or
    :data:`~voice2series.parameters.VALUES_BEFORE_DEFAULT_CHANGED`), is today's
    configuration, leaving out :data:`ONE_LENGTH_INDIFFERENT` on the datasets
    named in ``one_length``.

    Parameters
    ----------
    wanted : list of (unit, key, config)
    done : dict
        Stored rows by key.
    one_length : set of str
        Datasets whose series share one length.

    Returns
    -------
    list of (unit, key, config)
    """
    missing = [key for _, key, _ in wanted if key not in done and _unit_of(key)[1] == "v2s"]
    if not missing:
        return wanted
    units = {_unit_of(key) for key in missing}
    candidates = {}  # unit -> completed configs of its stored rows, read once
    for stored_key, row in done.items():
        if _unit_of(stored_key) in units:
            candidates.setdefault(_unit_of(stored_key), []).append((stored_key, _completed_config(row["config"])))
    return [
        (
            unit,
            _match(key, config, done, candidates, ONE_LENGTH_INDIFFERENT if unit.dataset in one_length else ()),
            config,
        )
        for unit, key, config in wanted
    ]


def _match(key, config, done, candidates, indifferent=()):
    if key in done:
        return key

    def deciding(params):
        return {name: value for name, value in params.items() if name not in indifferent}

    target = deciding(json.loads(config))
    return next(
        (stored for stored, completed in candidates.get(_unit_of(key), []) if deciding(completed) == target), key
    )


def _unit_of(key):
    """A key without its configuration digest: ``(dataset, method, seed, resample suffix)``."""
    dataset, method, seed, _, *resample = key.split("|")
    return dataset, method, seed, tuple(resample)


def _completed_config(config):
    """A stored V2S configuration with the parameters added after it was written."""
    stored = json.loads(config)
    added = {name: value for name, value in _v2s_defaults().items() if name not in stored}
    added.update({name: value for name, value in VALUES_BEFORE_DEFAULT_CHANGED.items() if name in added})
    return {**stored, **added}


@functools.cache
def _v2s_defaults():
    """Today's V2S parameter defaults as a results row's configuration holds them (JSON values)."""
    from .estimator import V2SClassifier

    return json.loads(json.dumps(_decisive_params(V2SClassifier()), default=str))


def _check_methods(methods):
    methods = [m.strip().lower() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise ValueError(f"Unknown method(s) {unknown or methods}; use some of {list(METHODS)}.")
    needs_aeon = sorted(set(methods) & {"minirocket", "1nn-dtw"})
    if needs_aeon and importlib.util.find_spec("aeon") is None:
        raise ValueError(
            f"{', '.join(needs_aeon)} need the aeon package: pip install 'voice2series[bench]', "
            "or leave them out with --methods v2s,1nn-euclidean."
        )
    return list(dict.fromkeys(methods))


def _load_all(names, ucr_root, download, timeout, skip_missing, log):
    """Load every dataset before any fitting, so a missing one fails fast."""
    data = {}
    for name in names:
        try:
            dataset = load_dataset(name, ucr_root=ucr_root, download=download, timeout=timeout)
        except ValueError as error:
            if not skip_missing:
                raise
            log(f"skipped: {error}")
            continue
        data[dataset.name] = dataset
    if not data:
        raise ValueError(f"None of the datasets {names} is available (see the messages above).")
    return data


_COST_COLUMNS = ("fit_seconds", "predict_seconds", "warmup_seconds", "peak_rss_mb")


def _plan(data, methods, seeds, v2s_params, resamples=1):
    units = []
    params = tuple(sorted(v2s_params.items()))
    for resample in range(resamples):
        for name in data:
            for method in methods:
                method_seeds = [None] if method in DETERMINISTIC else range(seeds)
                units.extend(
                    _Unit(name, method, seed, params if method == "v2s" else (), resample) for seed in method_seeds
                )
    return units


def _longest_first(pending, data):
    """Pending units sorted by projected seconds, longest first (ties keep their order)."""
    model = default_model()
    shapes = {name: _shape(dataset) for name, dataset in data.items()}
    seconds = [model.predict(unit.method, shapes[unit.dataset], dict(unit.params)) for unit, _, _ in pending]
    order = sorted(range(len(pending)), key=lambda i: -seconds[i])
    return [pending[i] for i in order]


def _shape(dataset):
    return {
        "n_train": len(dataset.y_train),
        "n_test": len(dataset.y_test),
        "n_timepoints": dataset.X_train.shape[1],
        "n_classes": len(set(dataset.y_train)),
    }


def _threads(n_jobs):
    """(workers, threads per worker) with workers x threads <= cores."""
    cores = available_cores()
    workers = cores if n_jobs == -1 else max(1, min(int(n_jobs), cores))
    return workers, max(1, cores // workers)


def _work(item, meta=None):
    """One unit wherever it runs: draw its resample, pin its threads, fit and score."""
    unit, dataset, threads, key, config = item
    return _run_unit(unit, resample_split(dataset, unit.resample), worker_threads(threads), key, config)


def _execute(pending, data, csv_path, n_jobs, quiet, log, backend="loky", backend_params=None):
    from tqdm.auto import tqdm

    workers, threads = _threads(n_jobs)
    bar = tqdm(total=len(pending), disable=quiet or not pending, unit="unit", dynamic_ncols=True)
    new = []

    def record(row):
        append_row(csv_path, row)
        new.append(row)
        bar.update()
        resample = resample_of(row)
        message = (
            f"{row['dataset']} {row['method']} seed {row['seed'] if row['seed'] != '' else '-'}"
            f"{f' resample {resample}' if resample else ''}: accuracy "
            f"{float(row['accuracy']):.4f}, fit {float(row['fit_seconds']):.1f} s"
        )
        if quiet:
            log(message)
        else:
            bar.set_postfix_str(message)

    if backend == "loky" and workers == 1:
        backend = "none"  # in this process, as before clusters existed
    params = {"n_jobs": workers, "threads_per_worker": threads, **(backend_params or {})}
    if backend == "dask":
        threads = None  # each unit asks its worker for its nthreads
    items = ((unit, data[unit.dataset], threads, key, config) for unit, key, config in pending)
    import torch

    previous = torch.get_num_threads()
    rows = parallelize(_work, items, backend=backend, backend_params=params)
    try:
        for row in rows:
            record(row)
    finally:
        rows.close()  # an interruption stops the engine's tasks and closes its workers now
        torch.set_num_threads(previous)
        bar.close()
    return new


# -------------------------------------------------------------------- report
def _summary(values):
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return ""
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f} (n={values.size})"


def method_labels(rows):
    """Column names of a report's methods: :data:`METHOD_LABELS`, with the V2S
    column named for what its rows are.

    A V2S configuration whose program is not trained (``train_program=False``)
    is a head on the source's outputs, not V2S: ``"probe, δ = 0 (this run)"``
    without epochs (``max_epochs=0``, the logistic probe), ``"head only, δ = 0
    (this run)"`` with them; ", source chosen per dataset" is added for a
    :class:`~voice2series.selection.SourceChoiceClassifier`.

    Parameters
    ----------
    rows : list of dict
        Results rows (CSV form) of one configuration.

    Returns
    -------
    dict
        Method name to label.
    """
    configs = [json.loads(row["config"]) for row in rows if row["method"] == "v2s" and row.get("config")]
    if not configs or any(_v2s_param(config, "train_program", True) for config in configs):
        return dict(METHOD_LABELS)
    kind = "probe" if all(_v2s_param(config, "max_epochs", None) == 0 for config in configs) else "head only"
    chosen = ", source chosen per dataset" if all("sources" in config for config in configs) else ""
    return {**METHOD_LABELS, "v2s": f"{kind}, δ = 0{chosen} (this run)"}


def _v2s_param(config, name, default):
    """A V2SClassifier parameter of a stored configuration, or of the one a SourceChoiceClassifier wraps."""
    return config.get(name, config.get(f"estimator__{name}", default))


def write_report(rows, path, seeds, methods, names, resamples=1):
    """Markdown report: mean ± std per dataset and method beside published numbers.

    With several resamples, cells are means over resamples (and seeds) and the
    bake-off redux's 30-resample means are shown too. With at least 2 methods
    and 5 datasets, a comparison section follows (:mod:`voice2series.bench_stats`:
    critical-difference diagram, scatter plots, wins/draws/losses, Wilcoxon),
    its PNGs next to the report.

    Parameters
    ----------
    rows : list of dict
        Results rows (CSV form) of one configuration.
    path : str or Path
    seeds : int
    methods : list of str
    names : list of str
        Datasets, in report order.
    resamples : int, default=1

    Returns
    -------
    Path
    """
    paper, redux = _read_table("v2s_paper_table2.csv"), _read_table("bakeoff_redux_accuracy.csv")
    labels = method_labels(rows)
    by = {}
    for row in rows:
        by.setdefault((row["dataset"], row["method"]), []).append(row)
    header = [
        "dataset",
        "train/test/length",
        *(labels[m] for m in methods),
        "paper V2S_a",
        "paper V2S_u",
        "paper SOTA",
        "redux MiniROCKET",
        "redux 1NN-DTW",
    ]
    if resamples > 1:
        header += ["redux MiniROCKET 30 res.", "redux 1NN-DTW 30 res."]
    splits = (
        "official UCR train/test splits"
        if resamples == 1
        else f"{resamples} resamples per dataset: resample 0 is the official UCR train/test split, resample "
        f"i > 0 a stratified shuffle of train+test with the official sizes seeded by i (tsml-eval's "
        f"convention), the same for every method"
    )
    lines = [
        "# voice2series benchmark",
        "",
        f"Protocol: {splits}; every method is fitted on the training split "
        f"only (V2S picks its epoch on a validation split of the training data when early "
        f"stopping is on); the test split is predicted once per fitted model. Stochastic methods "
        f"(V2S, MiniRocket): {seeds} run(s), seeds {', '.join(map(str, range(seeds)))}; 1-NN classifiers are "
        f"deterministic: one run{' per resample' if resamples > 1 else ''}. Cells: test accuracy, mean ± sample "
        f"std over seeds{' and resamples' if resamples > 1 else ''}.",
        "",
        "Published columns, as fractions: *paper* = Yang, Tsai & Chen, ICML 2021, Table 2 (selected "
        "on the test split by the official code, so optimistic; different source model); *redux* = "
        "Middlehurst, Schäfer & Bagnall, DMKD 2024, official split"
        f"{' and mean over their 30 resamples' if resamples > 1 else ''}. Blank: not published.",
        "",
        f"voice2series {__version__}; {len(rows)} rows; generated "
        f"{datetime.now(timezone.utc).isoformat(timespec='seconds')}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for name in names:
        sample = next((r for m in methods for r in by.get((name, m), [])), None)
        shape = f"{sample['n_train']}/{sample['n_test']}/{sample['n_timepoints']}" if sample else ""
        cells = [_summary([float(r["accuracy"]) for r in by.get((name, m), [])]) for m in methods]
        published = [
            _percent(paper, name, "v2s_a"),
            _percent(paper, name, "v2s_u"),
            _percent(paper, name, "sota_reported"),
            _fraction(redux, name, "MiniROCKET_official_split"),
            _fraction(redux, name, "1NN-DTW_official_split"),
        ]
        if resamples > 1:
            published += [
                _fraction(redux, name, "MiniROCKET_mean_30_resamples"),
                _fraction(redux, name, "1NN-DTW_mean_30_resamples"),
            ]
        lines.append("| " + " | ".join([name, shape, *cells, *published]) + " |")
    lines.append(_mean_row(by, names, methods, len(header) - 2 - len(methods)))
    lines += [
        "",
        "Mean seconds per fit (predict) on this machine; first-use numba compilation "
        "is excluded and listed separately:",
        "",
        "| method | fit s | predict s | numba warm-up s | peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        if mine:
            column = {name: [float(r[name]) for r in mine] for name in _COST_COLUMNS}
            lines.append(
                f"| {labels[method]} | {np.mean(column['fit_seconds']):.2f} | "
                f"{np.mean(column['predict_seconds']):.2f} | {max(column['warmup_seconds']):.1f} | "
                f"{max(column['peak_rss_mb']):.0f} |"
            )
    v2s = next((r for r in rows if r["method"] == "v2s"), None)
    if v2s:
        lines += ["", f"V2S configuration (first dataset): `{v2s['config']}`"]
    path = Path(path)
    from .bench_stats import comparison_section

    lines += comparison_section(rows, methods, names, path.parent, labels)
    path.write_text("\n".join(lines) + "\n")
    return path


def _mean_row(by, names, methods, n_published=5):
    """Mean over datasets of each method's mean accuracy, on the datasets every method has."""
    shared = [n for n in names if all(by.get((n, m)) for m in methods)]
    means = [
        f"**{np.mean([np.mean([float(r['accuracy']) for r in by[(n, m)]]) for n in shared]):.3f}**" if shared else ""
        for m in methods
    ]
    return (
        "| "
        + " | ".join([f"**mean** ({len(shared)} datasets run by every method)", "", *means, *[""] * n_published])
        + " |"
    )


def _percent(table, name, column):
    value = table.get(name, {}).get(column, "")
    return f"{float(value) / 100:.3f}" if value else ""


def _fraction(table, name, column):
    value = table.get(name, {}).get(column, "")
    return f"{float(value):.3f}" if value else ""
