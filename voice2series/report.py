"""The explanation report: figures from :mod:`voice2series.plots` and a markdown summary.

:mod:`voice2series.explain` computes, :mod:`voice2series.plots` draws, this
module writes files; imports run in that direction only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from . import explain, plots
from .series_input import check_series, own_lengths

__all__ = ["explain_report"]


def explain_report(clf, X, y, out_dir, max_series=200, n_projections=1000, random_state=0, image_format="png"):
    """Write every figure (PNG or SVG) and a markdown summary for a fitted model.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    X, y : array-like
        Series to explain (for instance a test split) and their labels.
    out_dir : str or path-like
        Created if missing.
    max_series : int, default=200
        A random subsample of at most this many series keeps
        t-SNE and the gradients quick.
    n_projections : int, default=1000
        For the sliced Wasserstein distance.
    random_state : int, default=0
    image_format : {"png", "svg"}, default="png"

    Returns
    -------
    dict
        ``figures``: name -> image path; ``summary``: path of ``summary.md``;
        ``theorem1``: the distances of :func:`voice2series.explain.theorem1_distance`.
    """
    if image_format not in ("png", "svg"):
        raise ValueError(f"image_format must be 'png' or 'svg', got {image_format!r}.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    X3, _ = check_series(clf, X, reset=False)
    y = np.asarray(y)
    keep = check_random_state(random_state).permutation(len(y))[:max_series]
    X3, y = _trimmed(X3[np.sort(keep)]), y[np.sort(keep)]
    example = X3[0] if clf.n_channels_ > 1 else X3[0][0]
    figures = {
        "program": plots.plot_program(clf),
        "reprogrammed": plots.plot_reprogrammed(clf, example),
        "mel_spectrogram": plots.plot_mel_spectrogram(clf, example),
        "training_curves": plots.plot_training_curves(clf),
        "mapping": plots.plot_mapping(clf),
        "saliency": plots.plot_saliency(clf, X3, y),
        "grad_cam": plots.plot_grad_cam(clf, X3, y),
        "tsne": plots.plot_tsne(explain.tsne_embedding(clf, X3, random_state=random_state), y),
    }
    paths = {}
    for name, figure in figures.items():
        paths[name] = out_dir / f"{name}.{image_format}"
        figure.savefig(paths[name], dpi=110)
    distances = explain.theorem1_distance(clf, X3, n_projections=n_projections, random_state=random_state)
    summary = out_dir / "summary.md"
    summary.write_text(_summary_markdown(clf, X3, y, paths, distances, n_projections))
    return {"figures": paths, "summary": summary, "theorem1": distances}


def _epochs_line(clf):
    if not clf.history_:
        return "- epochs: 0 (the starting head, a logistic probe; nothing trained)"
    last = clf.history_[-1]
    return (
        f"- epochs: {len(clf.history_)} (kept {clf.best_epoch_}), final train loss "
        f"{last['train_loss']:.4f}, train accuracy {last['train_accuracy']:.3f}"
    )


def _reads(clf):
    """What the model reads: its source(s) and the views of the series, each named once."""
    source = "+".join(dict.fromkeys(member.name for member in explain.waveform_sources(clf.model_)))
    views = "+".join(dict.fromkeys(program.view for program in explain.waveform_programs(clf.model_)))
    return f"source: `{source}`, views: `{views}`"


def _trimmed(X3):
    """Checked series as series again: a list of each at its own length where NaN pads them."""
    lengths = own_lengths(X3)
    return X3 if lengths is None else [series[:, :length] for series, length in zip(X3, lengths)]


def _summary_markdown(clf, X3, y, paths, distances, n_projections):
    accuracy = float(np.mean(clf.predict(X3) == y))
    lines = [
        "# voice2series explanation",
        "",
        f"- {_reads(clf)}, mapping: `{clf.mapping}`, classes: {', '.join(map(str, clf.classes_))}",
        _epochs_line(clf),
        f"- accuracy on the {len(y)} explained series: {accuracy:.3f}",
        f"- program: {int(clf.mask_.sum())} of {len(clf.mask_)} waveform samples, "
        f"RMS {np.sqrt(np.mean(clf.program_[clf.mask_ > 0] ** 2)):.4f}",
        "",
        "## Theorem 1 diagnostic",
        "",
        f"Sliced Wasserstein-1 distance ({n_projections} random projections) between source-model "
        "logits of synthetic pitched tones (a stand-in for the source's training audio) and of "
        "the target series:",
        "",
        "| input | distance |",
        "|---|---|",
        f"| series alone (zero-padded) | {distances['before']:.4f} |",
        f"| reprogrammed | {distances['after']:.4f} |",
        "",
        "## Figures",
        "",
    ]
    lines += [f"![{name}]({path.name})" for name, path in paths.items()]
    return "\n".join(lines) + "\n"
