"""Turning what users pass as ``X`` into one float array of series.

Accepted: 2-D arrays / DataFrames (rows are univariate series), lists of
equal-length sequences, 3-D arrays ``(n_series, n_channels, n_timepoints)``,
and variable-length collections (lists of 1-D or ``(n_channels, length)``
arrays, sktime's nested DataFrames whose cells are ``pd.Series``). Series of
different lengths are linearly resampled to one length, which is the only
change made to the values, or, with ``unequal_lengths="own"``, kept at their
own length with NaN after their end (:func:`pad_lengths`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import validate_data

from .program import resample_series

__all__ = [
    "UNEQUAL_LENGTHS",
    "check_series",
    "equalise_lengths",
    "is_ragged",
    "own_lengths",
    "pad_lengths",
    "to_channel_arrays",
]

_FLOAT32_MAX = float(np.finfo(np.float32).max)

#: How a V2SClassifier reads a collection of series of different lengths:
#: all resampled to one length, or each at its own (``unequal_lengths``).
UNEQUAL_LENGTHS = ("resample", "own")


def _is_nested_frame(X):
    return (
        isinstance(X, pd.DataFrame)
        and X.shape[0] > 0
        and X.shape[1] > 0
        and all(isinstance(cell, pd.Series | np.ndarray | list) for cell in X.iloc[0])
    )


def is_ragged(X, length=None):
    """Whether ``X`` is a collection of series that must be equalised first.

    True for nested DataFrames and for lists whose series differ in length,
    or, given ``length``, whose series are not all of that length.
    """
    if _is_nested_frame(X):
        return True
    if not isinstance(X, list | tuple) or not X:
        return False
    if not all(hasattr(series, "__len__") and not isinstance(series, str) for series in X):
        return False
    shapes = {np.shape(series) for series in X}
    return len(shapes) > 1 or (length is not None and next(iter(shapes))[-1:] != (length,))


def to_channel_arrays(X):
    """Each series of a ragged ``X`` as a float ``(n_channels, length)`` array."""
    if _is_nested_frame(X):
        rows = [[np.asarray(cell, dtype=np.float64) for cell in row] for row in X.itertuples(index=False)]
    else:
        rows = [np.asarray(series, dtype=np.float64) for series in X]
        rows = [series[None, :] if series.ndim == 1 else series for series in rows]
    arrays = []
    for index, channels in enumerate(rows):
        if len({len(channel) for channel in channels}) > 1:
            raise ValueError(
                f"Series {index} has channels of different lengths; resample its channels to one length first."
            )
        arrays.append(np.stack(list(channels)) if isinstance(channels, list) else channels)
    if len({a.shape[0] for a in arrays}) > 1:
        raise ValueError("The series have different numbers of channels; pass one channel count.")
    if min(a.shape[1] for a in arrays) == 0:
        raise ValueError("X contains an empty series (length 0); remove it or fill it.")
    return arrays


def equalise_lengths(arrays, length):
    """Linearly resample ``(n_channels, length_i)`` arrays to ``(n, n_channels, length)``."""
    resampled = [
        resample_series(torch.tensor(array), length).numpy() if array.shape[1] != length else array for array in arrays
    ]
    return np.stack(resampled)


def pad_lengths(arrays, length):
    """``(n_channels, length_i)`` arrays at their own resolution → ``(n, n_channels, length)``, NaN after each end.

    A series longer than ``length`` (met when predicting) is linearly
    resampled to ``length``: the model has no room for more.

    Examples
    --------
    >>> pad_lengths([np.array([[1.0, 2.0]]), np.array([[3.0, 4.0, 5.0]])], 3)[:, 0]
    array([[ 1.,  2., nan],
           [ 3.,  4.,  5.]])
    """
    padded = np.full((len(arrays), arrays[0].shape[0], length), np.nan)
    for row, array in zip(padded, arrays):
        own = array if array.shape[1] <= length else equalise_lengths([array], length)[0]
        row[:, : own.shape[1]] = own
    return padded


def own_lengths(X):
    """Each series' length in checked series ``(n, n_channels, n_timepoints)``: None unless NaN pads them.

    Examples
    --------
    >>> own_lengths(pad_lengths([np.ones((1, 2)), np.ones((1, 3))], 3))
    [2, 3]
    """
    if not np.isnan(X).any():
        return None
    return (~np.isnan(X[:, 0])).sum(axis=1).tolist()


def check_series(estimator, X, y=None, *, reset):
    """Checked float64 series ``(n, n_channels, n_timepoints)``, and ``y``.

    scikit-learn's ``validate_data`` does the checks (and sets
    ``n_features_in_``/``feature_names_in_`` when ``reset``); multichannel
    series are flattened for it, so ``n_features_in_`` is ``n_channels *
    n_timepoints``. Ragged collections are resampled to the longest series
    (``reset=True``) or to the estimator's ``n_timepoints_``; with the
    estimator's ``unequal_lengths="own"`` they are padded to that length
    with NaN instead (:func:`pad_lengths`), the only NaN the result holds.

    Parameters
    ----------
    estimator : V2SClassifier
        Fitted when ``reset`` is False.
    X : array-like
        Anything the module docstring lists.
    y : array-like of shape (n_series,), optional
    reset : bool
        True in ``fit``, False when predicting.

    Returns
    -------
    X : ndarray of shape (n_series, n_channels, n_timepoints)
    y : ndarray or None
    """
    padded = False
    own = getattr(estimator, "unequal_lengths", "resample") == "own"
    # Read at their own length, a list of series of one other length is a collection too (an array
    # of another width is still refused: its columns are features to scikit-learn).
    if is_ragged(X, None if reset or not own else estimator.n_timepoints_):
        arrays = to_channel_arrays(X)
        length = max(a.shape[1] for a in arrays) if reset else estimator.n_timepoints_
        padded = own
        if padded:
            _check_finite(arrays)
        X = pad_lengths(arrays, length) if padded else equalise_lengths(arrays, length)
    if isinstance(X, list | tuple) and np.ndim(X) == 3:
        X = np.asarray(X)
    n_channels = X.shape[1] if getattr(X, "ndim", 2) == 3 else 1
    if getattr(X, "ndim", 2) == 3:
        X = X.reshape(X.shape[0], -1)
    if not reset and n_channels != estimator.n_channels_:
        raise ValueError(
            f"X has {n_channels} channel(s) but the model was fitted on {estimator.n_channels_}; "
            "pass series with the training channels."
        )
    try:
        # The padding is the only NaN allowed; _check_finite checked the series.
        finite = {"ensure_all_finite": "allow-nan"} if padded else {}
        if y is None:
            X = validate_data(estimator, X, dtype=np.float64, reset=reset, **finite)
        else:
            X, y = validate_data(estimator, X, y, dtype=np.float64, reset=reset, **finite)
    except ValueError as error:
        if "could not convert" not in str(error):
            raise
        raise ValueError(
            f"X must hold numbers only ({error}). Drop or encode non-numeric columns "
            "first, e.g. X.select_dtypes('number') for a DataFrame."
        ) from error
    _check_float32_range(X)
    return X.reshape(X.shape[0], n_channels, -1), y


def _check_float32_range(X):
    """Refuse values that would overflow to inf in the model's float32."""
    # max(X.max(), -X.min()) needs no temporary copy of X (np.abs(X) would
    # hold a second input-sized array while predicting large inputs).
    largest = max(np.nanmax(X), -np.nanmin(X)) if X.size else 0.0
    if largest > _FLOAT32_MAX:
        raise ValueError(
            f"X holds a value of magnitude {largest:.3g}, beyond float32's range "
            f"({_FLOAT32_MAX:.3g}); rescale the series (e.g. z-normalise them) first."
        )


def _check_finite(arrays):
    """Refuse missing or infinite values inside a series (NaN marks only the end of one read at its own length)."""
    for index, array in enumerate(arrays):
        if not np.isfinite(array).all():
            raise ValueError(f"Series {index} holds NaN or infinite values; fill or interpolate them first.")
