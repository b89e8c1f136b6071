"""Comparisons of methods over many datasets for the benchmark report.

Per dataset, a method's score is its mean test accuracy over every run (seeds
and resamples). Over the datasets every method ran:

- a critical-difference diagram with 3 or more methods (aeon's
  ``plot_critical_difference``: Friedman test, average ranks, Wilcoxon
  signed-rank tests with Holm's correction, alpha 0.1);
- one scatter plot of V2S against each other method (aeon's
  ``plot_pairwise_scatter``, which needs seaborn; without it a plain matplotlib
  scatter with the diagonal);
- wins, draws and losses of V2S against each other method, with the two-sided
  Wilcoxon signed-rank p-value (``scipy.stats.wilcoxon``).

The pictures need matplotlib (extra ``voice2series[plots]``) and aeon; without
them the report says so and keeps the counts.
"""

from __future__ import annotations

import importlib.util
import re

import numpy as np

__all__ = ["MIN_DATASETS", "comparison_section", "score_table", "wins_draws_losses"]

MIN_DATASETS = 5


def score_table(rows, methods, names):
    """Mean accuracy per dataset and method, on the datasets every method ran.

    Parameters
    ----------
    rows : list of dict
        Results rows (CSV form).
    methods, names : list of str

    Returns
    -------
    datasets : list of str
    scores : ndarray of shape (n_datasets, n_methods)
    """
    by = {}
    for row in rows:
        by.setdefault((row["dataset"], row["method"]), []).append(float(row["accuracy"]))
    datasets = [n for n in names if all(by.get((n, m)) for m in methods)]
    scores = np.array([[np.mean(by[(n, m)]) for m in methods] for n in datasets]).reshape(len(datasets), len(methods))
    return datasets, scores


def wins_draws_losses(a, b, tolerance=1e-9):
    """Wins, draws, losses of ``a`` against ``b`` and the Wilcoxon signed-rank p-value.

    Parameters
    ----------
    a, b : array-like of shape (n_datasets,)

    Returns
    -------
    wins, draws, losses : int
    p_value : float
        Two-sided; NaN when every dataset is a draw.

    Examples
    --------
    >>> wins_draws_losses([0.9, 0.8, 0.7], [0.8, 0.8, 0.9])[:3]
    (1, 1, 1)
    """
    from scipy.stats import wilcoxon

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = a - b
    wins, losses = int(np.sum(diff > tolerance)), int(np.sum(diff < -tolerance))
    draws = len(diff) - wins - losses
    if wins + losses == 0:
        return wins, draws, losses, float("nan")
    return wins, draws, losses, float(wilcoxon(a, b).pvalue)


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def comparison_section(rows, methods, names, folder, labels):
    """Markdown lines comparing the methods; writes PNGs into ``folder``.

    Parameters
    ----------
    rows : list of dict
    methods, names : list of str
    folder : Path
        Where the PNGs go (the report's folder; links are relative).
    labels : dict
        Display name per method.

    Returns
    -------
    list of str
    """
    datasets, scores = score_table(rows, methods, names)
    lines = ["", "## Comparison over datasets", ""]
    if len(methods) < 2 or len(datasets) < MIN_DATASETS:
        return lines + [
            f"Not drawn: needs at least 2 methods and {MIN_DATASETS} datasets that every method ran "
            f"(here {len(methods)} method(s), {len(datasets)} dataset(s))."
        ]
    names_shown = [labels.get(m, m) for m in methods]
    first = methods.index("v2s") if "v2s" in methods else 0
    lines += [
        f"{len(datasets)} datasets that every method ran; per dataset, mean accuracy over seeds and resamples.",
        "",
        f"| {names_shown[first]} against | wins | draws | losses | Wilcoxon signed-rank p |",
        "|---|---|---|---|---|",
    ]
    for j in range(len(methods)):
        if j != first:
            w, d, lo, p = wins_draws_losses(scores[:, first], scores[:, j])
            lines.append(f"| {names_shown[j]} | {w} | {d} | {lo} | {'n/a' if np.isnan(p) else f'{p:.3g}'} |")
    missing = [pkg for pkg in ("matplotlib", "aeon") if importlib.util.find_spec(pkg) is None]
    if missing:
        return lines + [
            "",
            f"Pictures skipped: {' and '.join(missing)} not installed (pip install 'voice2series[plots,bench]').",
        ]
    lines += ["", *_pictures(scores, methods, names_shown, first, folder)]
    return lines


def _pictures(scores, methods, names_shown, first, folder):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from aeon.visualisation import plot_critical_difference, plot_pairwise_scatter

    lines = []
    if len(methods) < 3:
        lines += ["No critical-difference diagram: aeon's starts with a Friedman test, which needs 3 methods.", ""]
    else:
        fig, _ = plot_critical_difference(scores, names_shown, test="wilcoxon", correction="holm", alpha=0.1)
        fig.savefig(folder / "critical_difference.png", bbox_inches="tight", dpi=120)
        plt.close(fig)
        lines += [
            "Critical-difference diagram (average rank over datasets, lower is better; a bar joins "
            "methods whose Wilcoxon signed-rank tests, Holm-corrected at alpha 0.1, find no difference):",
            "",
            "![critical difference](critical_difference.png)",
            "",
        ]
    for j, method in enumerate(methods):
        if j == first:
            continue
        filename = f"scatter_{_slug(methods[first])}_vs_{_slug(method)}.png"
        if importlib.util.find_spec("seaborn") is not None:
            fig, _ = plot_pairwise_scatter(scores[:, first], scores[:, j], names_shown[first], names_shown[j])
        else:
            fig = _plain_scatter(scores[:, first], scores[:, j], names_shown[first], names_shown[j])
        fig.savefig(folder / filename, bbox_inches="tight", dpi=100)
        plt.close(fig)
        lines.append(f"- [{names_shown[first]} against {names_shown[j]}]({filename})")
    if importlib.util.find_spec("seaborn") is not None:
        lines += [
            "",
            f"The p-values printed in the scatter plots (aeon's) are one-sided, testing whether "
            f"{names_shown[first]} (x axis) is more accurate; the table's are two-sided.",
        ]
    return lines


def _plain_scatter(a, b, name_a, name_b):
    """Accuracy of ``b`` (x) against ``a`` (y), one point per dataset, with the diagonal."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    low = min(float(np.min(a)), float(np.min(b)), 1.0) - 0.02
    ax.plot([low, 1.0], [low, 1.0], color="grey", lw=1)
    ax.scatter(b, a, s=25)
    ax.set(
        xlim=(low, 1.0),
        ylim=(low, 1.0),
        xlabel=f"{name_b} accuracy",
        ylabel=f"{name_a} accuracy",
        title=f"{name_a} against {name_b} (above the diagonal: {name_a} better)",
    )
    return fig
