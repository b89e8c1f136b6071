"""Saving and loading fitted classifiers without pickle.

A model file is one ``torch.save`` archive holding only tensors, strings,
numbers, lists and dicts, so :func:`load_model` reads it with
``torch.load(..., weights_only=True)``: loading never executes code from the
file. Layout (``format_version`` 1)::

    {
        "format": "voice2series",
        "format_version": 1,
        "package_version": "0.1.0",
        "params": "<JSON of get_params()>",
        "classes": [...], "classes_dtype": "<numpy dtype str>",
        "n_features_in": int, "n_channels": int, "n_timepoints": int,
        "feature_names_in": [...] or None,
        "history": "<JSON of history_>", "best_epoch": int,
        "n_queries": int,          # absent in files from before it existed
        "state": {name: tensor},   # program, mapping, fine-tuned source weights
    }

The frozen source is not stored: it is rebuilt from its installed package by
name, which is why only models with a registered source can be saved. Source
weights changed by ``finetune`` are stored (``source.*`` keys) and loaded over
the rebuilt source; label mappings computed from data (flm, ilm, blm) are
buffers of the mapping and stored with it.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .parameters import VALUES_BEFORE_DEFAULT_CHANGED
from .training import build_model

FORMAT = "voice2series"
FORMAT_VERSION = 1

__all__ = ["save_model", "load_model", "FORMAT_VERSION"]


def save_model(clf, path):
    """Write a fitted :class:`~voice2series.V2SClassifier` to ``path``.

    Parameters
    ----------
    clf : V2SClassifier
        A fitted classifier whose ``source`` is a registered name.
    path : str or path-like
        File to write (conventionally ``*.v2s``).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf)
    if not isinstance(clf.source, str):
        raise ValueError(
            "save() stores a model with a registered source (a name such as 'crepe-tiny'); "
            f"this one uses a {type(clf.source).__name__} instance. Use pickle or joblib instead."
        )
    params = clf.get_params()
    if not isinstance(params["random_state"], int | None):
        params["random_state"] = None
    feature_names = getattr(clf, "feature_names_in_", None)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "params": json.dumps(params),
        "classes": clf.classes_.tolist(),
        "classes_dtype": clf.classes_.dtype.str,
        "n_features_in": int(clf.n_features_in_),
        "n_channels": int(clf.n_channels_),
        "n_timepoints": int(clf.n_timepoints_),
        "feature_names_in": None if feature_names is None else [str(n) for n in feature_names],
        "history": json.dumps(clf.history_),
        "best_epoch": int(clf.best_epoch_),
        "n_queries": int(getattr(clf, "n_queries_", 0)),
        "head_cv_log_loss": clf.head_cv_log_loss_,
        "loss_temperature": float(clf.loss_temperature_),
        "state": {k: v.cpu() for k, v in clf.model_.trained_state().items()},
    }
    torch.save(payload, Path(path))


def _read(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No voice2series model file at {path}.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as error:
        raise ValueError(
            f"{path} is not a readable voice2series model file (truncated, corrupt, or not "
            f"written by V2SClassifier.save): {error.__class__.__name__}: {str(error)[:200]}"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} was not written by V2SClassifier.save (no voice2series header).")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has model format version {payload.get('format_version')} (written by "
            f"voice2series {payload.get('package_version')}); this voice2series "
            f"{__version__} reads version {FORMAT_VERSION}. Load it with the version that wrote it "
            "and refit, or refit with this one."
        )
    return payload


def load_model(path, cls):
    """Read a model written by :func:`save_model` into a new ``cls`` instance.

    Parameters
    ----------
    path : str or path-like
    cls : type
        :class:`~voice2series.V2SClassifier` (or a subclass).

    Returns
    -------
    V2SClassifier
        Fitted, on the CPU; ``predict`` moves it to its ``device``.
    """
    payload = _read(path)
    saved = json.loads(payload["params"])
    # A file written before a parameter existed ran with the value that stood for it then.
    before = {name: value for name, value in VALUES_BEFORE_DEFAULT_CHANGED.items() if name not in saved}
    clf = cls(**before, **saved)
    classes = np.asarray(payload["classes"], dtype=np.dtype(payload["classes_dtype"]))
    series_shape = (payload["n_channels"], payload["n_timepoints"])
    model = build_model(clf.get_params(), series_shape, len(classes), np.random.RandomState(0))
    try:
        result = model.load_state_dict(payload["state"], strict=False)
    except RuntimeError as error:
        raise ValueError(f"{path}: the stored tensors do not fit the model they describe: {error}") from error
    missing = [key for key in result.missing_keys if not key.startswith("source.")]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"{path}: the stored tensors do not fit the model they describe "
            f"(missing {missing}, unexpected {result.unexpected_keys})."
        )
    clf.classes_ = classes
    clf.n_features_in_ = payload["n_features_in"]
    clf.n_channels_, clf.n_timepoints_ = series_shape
    if payload["feature_names_in"] is not None:
        clf.feature_names_in_ = np.asarray(payload["feature_names_in"], dtype=object)
    clf.model_ = model.eval()
    clf.history_ = json.loads(payload["history"])
    clf.best_epoch_ = payload["best_epoch"]
    clf.n_queries_ = int(payload.get("n_queries", 0))
    # Files written before the attribute existed did not keep it.
    clf.head_cv_log_loss_ = payload.get("head_cv_log_loss")
    clf.loss_temperature_ = float(payload.get("loss_temperature", 1.0))
    return clf
