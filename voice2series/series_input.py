"""Turning what users pass as ``X`` into one float array of series.

Accepted: 2-D arrays / DataFrames (rows are univariate series), lists of
equal-length sequences, 3-D arrays ``(n_series, n_channels, n_timepoints)``,
and variable-length collections (lists of 1-D or ``(n_channels, length)``
arrays, sktime's nested DataFrames whose cells are ``pd.Series``). Series of
different lengths are linearly resampled to one length, which is the only
change made to the values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .program import resample_series

__all__ = ["is_ragged", "to_channel_arrays", "equalise_lengths"]


def _is_nested_frame(X):
    return (
        isinstance(X, pd.DataFrame)
        and X.shape[0] > 0
        and X.shape[1] > 0
        and all(isinstance(cell, pd.Series | np.ndarray | list) for cell in X.iloc[0])
    )


def is_ragged(X):
    """Whether ``X`` is a collection of series that must be equalised first.

    True for nested DataFrames and for lists whose series differ in length.
    """
    if _is_nested_frame(X):
        return True
    if not isinstance(X, list | tuple) or not X:
        return False
    if not all(hasattr(series, "__len__") and not isinstance(series, str) for series in X):
        return False
    return len({np.shape(series) for series in X}) > 1


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
                f"Series {index} has channels of different lengths; resample its channels to one "
                "length first."
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
        resample_series(torch.tensor(array), length).numpy() if array.shape[1] != length else array
        for array in arrays
    ]
    return np.stack(resampled)
