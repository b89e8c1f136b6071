"""Any UCR univariate dataset by name: bundled, a local archive copy, or downloaded.

Where a dataset comes from, in order:

1. a package that bundles it (:func:`voice2series.datasets.load_ucr`, offline);
2. a local copy of the official archive, ``<root>/<Name>/<Name>_TRAIN.tsv`` and
   ``_TEST.tsv`` (tab-separated, label in column 0), where ``<root>`` is the
   ``ucr_root`` argument or the ``VOICE2SERIES_UCR_ROOT`` environment variable
   and may be the ``UCRArchive_2018`` folder or its parent;
3. earlier downloads, kept in the same layout under the cache folder
   (``VOICE2SERIES_CACHE``, default ``~/.cache/voice2series``);
4. a download through aeon, with a timeout, written to the cache only once
   both splits arrived (a failed download leaves no folder behind).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .datasets import bundled_datasets, load_ucr
from .series_input import equalise_lengths

__all__ = ["UCRDataset", "load_dataset", "read_ucr_tsv", "resample_split", "ucr_names", "ROOT_ENV", "CACHE_ENV"]

ROOT_ENV = "VOICE2SERIES_UCR_ROOT"
CACHE_ENV = "VOICE2SERIES_CACHE"
ARCHIVE_URL = "https://www.cs.ucr.edu/~eamonn/time_series_data_2018/"
# The archive ships equal-length, gap-free versions of its variable-length and
# missing-value datasets in this sub-folder; they are preferred over the raw files.
ADJUSTED = "Missing_value_and_variable_length_datasets_adjusted"
_DATA = Path(__file__).resolve().parent / "data"


@dataclass
class UCRDataset:
    """Official train/test split of one UCR dataset.

    Attributes
    ----------
    name : str
    X_train, X_test : ndarray of shape (n_series, n_timepoints), float64
    y_train, y_test : ndarray of shape (n_series,), str
        Labels as written in the archive.
    origin : str
        Where the data came from (package, archive folder or download cache).
    X_train_own, X_test_own : list of ndarray or None
        A variable-length dataset's series at their own lengths (gaps
        interpolated, not resampled), for an estimator that reads them so
        (``unequal_lengths="own"``); None for a dataset of one length.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    origin: str
    X_train_own: list | None = None
    X_test_own: list | None = None


def ucr_names():
    """The 128 univariate datasets of the UCR archive 2018.

    Returns
    -------
    list of str
    """
    return (_DATA / "ucr_univariate.txt").read_text().split()


def read_ucr_tsv(path):
    """Read one split file of the archive.

    Variable-length series (padded with trailing NaN in the archive) are
    resampled linearly to the longest length, and interior missing values are
    interpolated linearly, so every series is finite and of one length.

    Parameters
    ----------
    path : str or Path
        A ``<Name>_TRAIN.tsv`` or ``<Name>_TEST.tsv`` file.

    Returns
    -------
    X : ndarray of shape (n_series, n_timepoints), float64
    y : ndarray of shape (n_series,), str
    """
    X, y, _ = _read_split(path)
    return X, y


def _read_split(path):
    """:func:`read_ucr_tsv`'s ``X, y``, and the series at their own lengths when they differ (else None)."""
    frame = pd.read_csv(path, sep="\t", header=None, dtype={0: str}, skipinitialspace=True)
    if frame.shape[1] < 2 or len(frame) == 0:
        raise ValueError(f"{path} holds no series (expected a label column and values).")
    y = frame[0].str.strip().to_numpy(dtype=str)
    X = frame.iloc[:, 1:].to_numpy(dtype=np.float64)
    if not np.isnan(X).any():
        return X, y, None
    own = _fill_gaps([row[: _last_value(row) + 1] for row in X])
    return _resample_rows(own, max(len(s) for s in own)), y, own if len({len(s) for s in own}) > 1 else None


def _last_value(row):
    """Index of the last non-NaN value (the end of a variable-length series)."""
    finite = np.flatnonzero(~np.isnan(row))
    if finite.size == 0:
        raise ValueError("A series in the file holds no values (all NaN).")
    return finite[-1]


def _fill_gaps(series):
    """Each series with its missing values interpolated linearly."""
    filled = []
    for s in series:
        s = np.asarray(s, dtype=np.float64)
        known = ~np.isnan(s)
        index = np.arange(len(s))
        filled.append(np.interp(index, index[known], s[known]))
    return filled


def _equalise(series, length=None):
    """Interpolate gaps and resample every series to ``length`` (default: the longest)."""
    filled = _fill_gaps(series)
    return _resample_rows(filled, length or max(len(s) for s in filled))


def _resample_rows(rows, length):
    """Each 1-D row linearly resampled to ``length`` points (as the estimator does)."""
    return equalise_lengths([np.asarray(row, dtype=np.float64)[None, :] for row in rows], length)[:, 0]


def load_dataset(name, ucr_root=None, download=True, timeout=120.0):
    """Load the official train/test split of a UCR dataset from wherever it is.

    Parameters
    ----------
    name : str
        Dataset name as in the archive (case does not matter).
    ucr_root : str or Path, optional
        A local copy of the archive; defaults to ``$VOICE2SERIES_UCR_ROOT``.
    download : bool, default=True
        Try to download (through aeon) when the dataset is nowhere local.
    timeout : float, default=120.0
        Seconds the download may take.

    Returns
    -------
    UCRDataset

    Raises
    ------
    ValueError
        The dataset is nowhere to be found: the one-line message says where to
        put the archive.
    """
    ucr_root = ucr_root if ucr_root is not None else os.environ.get(ROOT_ENV) or None
    bundled = {n.lower(): n for n in bundled_datasets(univariate_only=True)}
    if str(name).lower() in bundled:
        canonical = bundled[str(name).lower()]
        (X_train, y_train), (X_test, y_test) = load_ucr(canonical, "train"), load_ucr(canonical, "test")
        if isinstance(X_train, list):
            # Variable-length bundled datasets (PLAID, PickupGestureWiimoteZ) are
            # equalised as the archive's own files are, to one length for both
            # splits, so every method sees arrays of the width it was fitted on.
            length = max(len(s) for s in X_train + X_test)
            own = _fill_gaps(X_train), _fill_gaps(X_test)
            return UCRDataset(
                canonical, _equalise(X_train, length), y_train, _equalise(X_test, length), y_test, "package", *own
            )
        return UCRDataset(canonical, X_train, y_train, X_test, y_test, "package")
    searched = [Path(ucr_root)] if ucr_root else []
    for root in searched + [_cache_dir()]:
        found = _find_in_archive(root, name)
        if found is not None:
            return _read_folder(found)
    known = {n.lower(): n for n in ucr_names()}
    if str(name).lower() not in known:
        close = difflib.get_close_matches(str(name), ucr_names(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        where = f" or under {ucr_root}" if ucr_root else ""
        raise ValueError(f"{name!r} is not a UCR univariate dataset{where}.{hint}")
    canonical = known[str(name).lower()]
    reason = "download disabled"
    if download:
        try:
            return _read_folder(_download(canonical, timeout))
        except (OSError, ValueError, RuntimeError, TimeoutError, ImportError) as error:
            reason = f"could not be downloaded ({_short_reason(error)})"
    looked = f"{ucr_root}" if ucr_root else f"no --ucr-root / ${ROOT_ENV} given"
    raise ValueError(
        f"UCR dataset {canonical!r} is not bundled in an installed package, not in a local "
        f"archive ({looked}) and {reason}: unzip UCRArchive_2018.zip from {ARCHIVE_URL} and "
        f"pass --ucr-root DIR or set {ROOT_ENV}=DIR (DIR/{canonical}/{canonical}_TRAIN.tsv)."
    )


def _short_reason(error):
    """The informative tail of a download error (aeon nests urllib's message)."""
    text = " ".join(str(error).split())
    nested = re.search(r"<urlopen error ([^>]*)>", text)
    text = nested.group(1) if nested else text
    return f"{type(error).__name__}: {text[:120]}" if text else type(error).__name__


def _cache_dir():
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "voice2series") / "UCRArchive_2018"


def _find_in_archive(root, name):
    """The dataset's folder under ``root`` (adjusted version first), or None."""
    root = Path(root)
    if not root.is_dir():
        return None
    for base in (root, root / "UCRArchive_2018"):
        for parent in (base / ADJUSTED, base):
            if not parent.is_dir():
                continue
            for folder in parent.iterdir():
                if folder.name.lower() == str(name).lower() and (folder / f"{folder.name}_TRAIN.tsv").is_file():
                    return folder
    return None


def _read_folder(folder):
    name = folder.name
    X_train, y_train, own_train = _read_split(folder / f"{name}_TRAIN.tsv")
    X_test, y_test, own_test = _read_split(folder / f"{name}_TEST.tsv")
    own = (None, None)
    if X_train.shape[1] != X_test.shape[1] or own_train is not None or own_test is not None:
        # Variable-length datasets: one length for both splits, and each series at its own.
        own = (own_train or list(X_train), own_test or list(X_test))
        length = max(X_train.shape[1], X_test.shape[1])
        X_train, X_test = _resample_rows(X_train, length), _resample_rows(X_test, length)
    return UCRDataset(name, X_train, y_train, X_test, y_test, f"archive {folder}", *own)


def _download(name, timeout):
    """Fetch both splits through aeon into the cache; return the dataset's folder."""
    staging = Path(tempfile.mkdtemp(prefix="voice2series-download-"))
    try:
        splits = _call_with_timeout(lambda: _aeon_splits(name, staging), timeout)
        target = _cache_dir() / name
        built = staging / "out" / name
        built.mkdir(parents=True)
        for split, (X, y) in splits.items():
            _write_tsv(built / f"{name}_{split.upper()}.tsv", X, y)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(built), str(target))
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _aeon_splits(name, staging):
    from aeon.datasets import load_classification

    splits = {}
    for split in ("train", "test"):
        X, y = load_classification(name, split=split, extract_path=str(staging))
        series = [np.asarray(x, dtype=np.float64).reshape(-1) for x in X]
        splits[split] = (series, np.asarray(y).astype(str))
    return splits


def _call_with_timeout(function, timeout):
    """Run ``function`` in a daemon thread; give up after ``timeout`` seconds."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _write_tsv(path, series, labels):
    """Write the archive's layout: label, then values; shorter series padded with NaN."""
    length = max(len(s) for s in series)
    with open(path, "w") as handle:
        for label, s in zip(labels, series):
            values = list(map(repr, map(float, s))) + ["NaN"] * (length - len(s))
            handle.write("\t".join([label, *values]) + "\n")


def resample_split(dataset, resample):
    """Resample ``resample`` of a dataset: 0 is the official split.

    Resample ``i > 0`` pools train and test and draws, class by class, a new
    training set with the official per-class training counts (the rest is the
    test set), shuffled by ``numpy.random.RandomState(i)``: the convention of
    tsml-eval and the bake-off redux (aeon's
    ``aeon.benchmarking.resampling.stratified_resample_data(..., random_state=i)``
    gives the same indices), so every method sees the same resample ``i``.

    Parameters
    ----------
    dataset : UCRDataset
    resample : int

    Returns
    -------
    UCRDataset
        ``dataset`` itself for resample 0; otherwise a new one whose ``origin``
        names the resample.
    """
    resample = int(resample)
    if resample < 0:
        raise ValueError(f"resample must be 0 (the official split) or more, got {resample}.")
    if resample == 0:
        return dataset
    y_train, y_test = np.asarray(dataset.y_train), np.asarray(dataset.y_test)
    labels = np.concatenate([y_train, y_test])
    X = np.concatenate([dataset.X_train, dataset.X_test])
    classes, train_counts = np.unique(y_train, return_counts=True)
    if list(classes) != list(np.unique(y_test)):
        raise ValueError(f"{dataset.name}: train and test hold different classes; it cannot be resampled stratified.")
    rng = np.random.RandomState(resample)
    train, test = [], []
    for label, count in zip(classes, train_counts):
        indices = np.flatnonzero(labels == label)
        rng.shuffle(indices)
        train.append(indices[:count])
        test.append(indices[count:])
    train, test = np.concatenate(train), np.concatenate(test)
    own = (None, None)
    if dataset.X_train_own is not None:
        series = list(dataset.X_train_own) + list(dataset.X_test_own)
        own = ([series[i] for i in train], [series[i] for i in test])
    return UCRDataset(
        dataset.name,
        X[train],
        labels[train],
        X[test],
        labels[test],
        f"{dataset.origin}; stratified resample {resample}",
        *own,
    )
