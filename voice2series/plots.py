"""Figures of a fitted V2SClassifier; each function returns a matplotlib Figure.

The figures are built with :class:`matplotlib.figure.Figure` directly, not
through ``pyplot``, so they need no display, leave no global state behind
and work under any backend.
"""

from __future__ import annotations

import numpy as np
import torch
import torchaudio
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.utils.validation import check_is_fitted

from . import explain
from .series_input import check_series, own_lengths
from .training import model_on

__all__ = [
    "plot_program",
    "plot_reprogrammed",
    "plot_mel_spectrogram",
    "plot_training_curves",
    "plot_mapping",
    "plot_saliency",
    "plot_grad_cam",
    "plot_tsne",
]


def _seconds(clf, n_samples):
    return np.arange(n_samples) / clf.model_.source.sample_rate * 1000.0


def plot_program(clf):
    """The learned program ``mask * delta`` and the mask over the waveform.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_is_fitted(clf)
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    time = _seconds(clf, len(clf.program_))
    top.plot(time, clf.program_, lw=0.7, color="tab:purple", label="program (mask · δ)")
    top.set_ylabel("amplitude")
    top.set_title("Learned input program")
    top.legend(loc="upper right")
    bottom.fill_between(time, clf.mask_, step="mid", color="tab:grey", alpha=0.6, label="mask")
    bottom.set_ylim(-0.1, 1.1)
    bottom.set_yticks([0, 1], ["series", "program"])
    bottom.set_xlabel("waveform time (ms)")
    bottom.set_ylabel("mask")
    return fig


def _reprogrammed(clf, series):
    """The placed series and its reprogrammed waveform, as 1-D numpy arrays."""
    # A list: a series read at its own length may be shorter than the training series.
    placed = clf.placed_waveforms([np.asarray(series)])
    with torch.no_grad():
        waveform = model_on(clf.model_, torch.device("cpu")).program(placed)
    return placed[0].numpy(), waveform[0].numpy()


def plot_reprogrammed(clf, series):
    """A target series and the reprogrammed waveform the source model hears.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    series : array-like of shape (n_timepoints,) or (n_channels, n_timepoints)
        One series.

    Returns
    -------
    matplotlib.figure.Figure
    """
    series = np.asarray(series, dtype=np.float64)
    placed, waveform = _reprogrammed(clf, series)
    fig = Figure(figsize=(9, 5), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    for index, channel in enumerate(np.atleast_2d(series)):
        top.plot(channel, marker=".", lw=1, label=f"channel {index}")
    top.set_xlabel("series time step")
    top.set_ylabel("value")
    top.set_title("Target series")
    top.legend(loc="upper right")
    time = _seconds(clf, len(waveform))
    bottom.plot(time, waveform, lw=0.6, color="tab:purple", label="reprogrammed waveform")
    bottom.plot(time, np.where(clf.mask_ == 0, placed, np.nan), lw=1.2, color="tab:orange", label="series (placed)")
    bottom.set_xlabel("waveform time (ms)")
    bottom.set_ylabel("amplitude")
    bottom.set_title("Reprogrammed input to the source model")
    bottom.legend(loc="upper right")
    return fig


def plot_mel_spectrogram(clf, series, n_mels=64, n_fft=512, hop_length=32):
    """Mel spectrogram (dB) of the reprogrammed waveform of one series.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    series : array-like of shape (n_timepoints,) or (n_channels, n_timepoints)
    n_mels, n_fft, hop_length : int
        Passed to :class:`torchaudio.transforms.MelSpectrogram`; the defaults
        resolve short (1024-sample) inputs.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _, waveform = _reprogrammed(clf, series)
    sample_rate = clf.model_.source.sample_rate
    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels)(
        torch.as_tensor(waveform)
    )
    decibels = torchaudio.transforms.AmplitudeToDB(top_db=80)(mel).numpy()
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    duration = len(waveform) / sample_rate * 1000.0
    image = ax.imshow(decibels, origin="lower", aspect="auto", extent=[0, duration, 0, n_mels], cmap="magma")
    ax.set_xlabel("waveform time (ms)")
    ax.set_ylabel(f"mel band (of {n_mels}, up to {sample_rate // 2} Hz)")
    ax.set_title("Mel spectrogram of the reprogrammed input")
    fig.colorbar(image, ax=ax, label="power (dB)")
    return fig


def plot_training_curves(clf):
    """Loss and accuracy per epoch from ``history_``, validation where there was one.

    A program trained on the cross-fitted loss (``program_loss="cross-fitted"``)
    has no validation split; its curve beside "train" is the cross-fitted
    loss that chose the kept epoch.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_is_fitted(clf)
    epochs = [record["epoch"] for record in clf.history_]
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    loss_ax, accuracy_ax = fig.subplots(1, 2)
    for ax, metric in ((loss_ax, "loss"), (accuracy_ax, "accuracy")):
        ax.plot(epochs, [r[f"train_{metric}"] for r in clf.history_], marker=".", label="train")
        for key, label in ((f"val_{metric}", "validation"), (f"cv_{metric}", "cross-fitted")):
            values = [r.get(key) for r in clf.history_]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], marker=".", label=label)
        ax.axvline(clf.best_epoch_, color="grey", ls="--", lw=0.8, label=f"kept epoch ({clf.best_epoch_})")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.set_title(f"Training {metric}")
        ax.legend()
    return fig


def plot_mapping(clf):
    """The label mapping matrix: weight of each source output in each class score.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_is_fitted(clf)
    matrix = clf.mapping_
    fig = Figure(figsize=(9, 1.2 + 0.35 * len(clf.classes_)), layout="constrained")
    ax = fig.subplots()
    # A signed diverging scale: a linear head has negative weights too.
    limit = np.abs(matrix).max() or 1.0
    image = ax.imshow(matrix, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_yticks(range(len(clf.classes_)), [str(c) for c in clf.classes_])
    ax.set_xlabel(f"source output (of {matrix.shape[1]})")
    ax.set_ylabel("class")
    ax.set_title(f"Label mapping ({clf.mapping})")
    fig.colorbar(image, ax=ax, label="weight")
    return fig


def _series_heat(ax, series, heat, title, vmax):
    """Series as a line with its per-time-step importance as coloured points."""
    steps = np.arange(len(series))
    ax.plot(steps, series, color="lightgrey", lw=1, zorder=1)
    points = ax.scatter(steps, series, c=heat, cmap="viridis", vmin=0, vmax=vmax, s=18, zorder=2)
    ax.set_title(title, fontsize=9)
    return points


def _plot_per_class(clf, X, y, heat, suptitle, label):
    """One panel per class: its first series, coloured by ``heat`` (n, n_timepoints)."""
    classes = [c for c in clf.classes_ if np.any(y == c)]
    fig = Figure(figsize=(4 * len(classes), 3.2), layout="constrained")
    axes = fig.subplots(1, len(classes), squeeze=False)[0]
    shown = [int(np.flatnonzero(y == label_value)[0]) for label_value in classes]
    # One colour scale for all panels, so the single colour bar is true for each.
    vmax = float(heat[shown].max()) or 1.0
    for ax, label_value, index in zip(axes, classes, shown):
        points = _series_heat(ax, X[index], heat[index], f"class {label_value} (series {index})", vmax)
        ax.set_xlabel("series time step")
        ax.set_ylabel("value")
    fig.colorbar(points, ax=list(axes), label=label)
    fig.suptitle(suptitle)
    return fig


def _first_channel(clf, X):
    X3, _ = check_series(clf, X, reset=False)
    return X3[:, 0]


def plot_saliency(clf, X, y):
    """Input saliency on the series' time steps, one example per class.

    The class explained is each series' true class ``y``. For multichannel
    series the first channel is shown.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    X : array-like
        Series.
    y : array-like of shape (n_series,)
        Their labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    y = np.asarray(y)
    heat = explain.saliency(clf, X, classes=y)[:, 0]
    return _plot_per_class(clf, _first_channel(clf, X), y, heat, "Input saliency |∂ class score / ∂ input|", "saliency")


def plot_grad_cam(clf, X, y, layer=None):
    """Grad-CAM of a source layer mapped onto the series' time steps, one example per class.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    X : array-like
        Series.
    y : array-like of shape (n_series,)
        Their labels (the class explained).
    layer : str, optional
        Source layer; default :func:`voice2series.explain.default_cam_layer`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    y = np.asarray(y)
    lengths = own_lengths(check_series(clf, X, reset=False)[0])
    cam = explain.waveform_to_series(clf, explain.grad_cam(clf, X, classes=y, layer=layer), lengths)[:, 0]
    # A model that reads several waveforms maps each through its own source's first convolution.
    parts = explain.waveform_sources(clf.model_)
    name = layer or explain.default_cam_layer(parts[0])
    where = f"source layer '{name}'" if len(parts) == 1 else f"layer '{name}' of each waveform's source"
    return _plot_per_class(clf, _first_channel(clf, X), y, cam, f"Grad-CAM on {where}", "class activation")


def plot_tsne(embedding, y):
    """t-SNE of source outputs before and after reprogramming, coloured by class.

    Parameters
    ----------
    embedding : dict
        From :func:`voice2series.explain.tsne_embedding`.
    y : array-like of shape (n_series,)
        Class labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    y = np.asarray(y)
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    titles = {"before": "Series alone (before)", "after": "Reprogrammed (after)"}
    for ax, stage in zip(axes, ("before", "after")):
        for label in np.unique(y):
            points = embedding[stage][y == label]
            ax.scatter(points[:, 0], points[:, 1], s=14, alpha=0.8, label=f"class {label}")
        ax.set_title(titles[stage])
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")
    axes[1].legend(loc="best", fontsize=8)
    fig.suptitle("t-SNE of source-model outputs")
    return fig
