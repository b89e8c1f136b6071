"""Series from users' files: CSV, UCR ``.tsv``, sktime ``.ts`` and Parquet.

- ``.csv`` (and ``.txt``) and ``.parquet``: one series per row, a header row
  naming the columns; the label column is named by ``label_column``, or is
  the first column when the file is labelled and no name is given.
- ``.tsv``: the UCR archive's split files (no header, label first), read by
  :func:`voice2series.archive.read_ucr_tsv`.
- ``.ts``: sktime's format, read by sktime's ``load_from_tsfile_to_dataframe``
  (multivariate and unequal-length series included).

Predictions are written with :func:`write_predictions`, atomically: a failed
run leaves no partial file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["SUFFIXES", "read_series_file", "write_predictions"]

SUFFIXES = (".csv", ".txt", ".tsv", ".ts", ".parquet")


def read_series_file(
    path: str | os.PathLike, *, label_column: str | None = None, labelled: bool = True
) -> tuple[pd.DataFrame | np.ndarray, np.ndarray | None]:
    """Series (and labels) from a file.

    Parameters
    ----------
    path : str or path-like
    label_column : str, optional
        Name of the label column of a CSV or Parquet file; default: the
        first column when ``labelled``.
    labelled : bool, default=True
        Whether the file holds labels. ``.tsv`` and labelled ``.ts`` files
        always do; for CSV/Parquet without labels pass ``labelled=False``
        and no ``label_column``.

    Returns
    -------
    X : DataFrame, ndarray or list
        What :class:`~voice2series.V2SClassifier` accepts.
    y : ndarray or None
        Labels, when the file has them.

    Examples
    --------
    >>> from voice2series.files import read_series_file
    >>> X, y = read_series_file("data/examples/ItalyPowerDemand_TRAIN.csv", label_column="label")
    >>> X.shape, y[:3].tolist()
    ((67, 24), ['1', '1', '2'])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}. Check the path.")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"Cannot read {path.name}: use one of {', '.join(SUFFIXES)} files.")
    if suffix == ".tsv":
        from .archive import read_ucr_tsv

        return read_ucr_tsv(path)
    if suffix == ".ts":
        return _read_ts(path)
    frame = pd.read_parquet(path) if suffix == ".parquet" else _read_csv(path)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"{path} holds no series.")
    if label_column is None and not labelled:
        return frame, None
    column = frame.columns[0] if label_column is None else label_column
    if column not in frame.columns:
        raise ValueError(
            f"{path} has no column {column!r}; its columns start with {list(frame.columns[:5])}. "
            "Name the label column with --label-column."
        )
    return frame.drop(columns=column), frame[column].astype(str).to_numpy()


def _read_csv(path):
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not a readable CSV file: {error}") from error
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"{path} is empty.") from error


def _read_ts(path):
    from sktime.datasets import load_from_tsfile_to_dataframe

    # load_from_tsfile (sktime 1.2) fails on files without class labels;
    # this reader returns X alone for them and (X, y) otherwise.
    try:
        loaded = load_from_tsfile_to_dataframe(str(path))
    except Exception as error:  # sktime raises its own TsFileParseException
        raise ValueError(f"{path} is not a readable .ts file: {error}") from error
    if isinstance(loaded, tuple):
        X, y = loaded
        return X, np.asarray(y).astype(str)
    return loaded, None


def write_predictions(
    path: str | os.PathLike,
    labels: ArrayLike,
    probabilities: np.ndarray,
    classes: ArrayLike,
    true_labels: ArrayLike | None = None,
) -> None:
    """Write one row per series, in input order: label, then class probabilities.

    Columns: ``row`` (0-based position in the input), ``label`` (when known),
    ``predicted``, and ``proba_<class>`` per class. The file appears only
    once it is complete.

    Parameters
    ----------
    path : str or path-like
    labels : array-like of shape (n_series,)
        Predicted labels.
    probabilities : ndarray of shape (n_series, n_classes)
    classes : array-like of shape (n_classes,)
    true_labels : array-like of shape (n_series,), optional
    """
    frame = pd.DataFrame({"row": np.arange(len(labels))})
    if true_labels is not None:
        frame["label"] = true_labels
    frame["predicted"] = labels
    for index, name in enumerate(classes):
        frame[f"proba_{name}"] = probabilities[:, index]
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(descriptor, "w", newline="") as handle:
            frame.to_csv(handle, index=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
