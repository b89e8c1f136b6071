"""The report's comparison over datasets: counts, Wilcoxon, pictures."""

import importlib.util

import numpy as np
import pytest

from voice2series import bench_stats, benchmark
from voice2series.bench_stats import comparison_section, score_table, wins_draws_losses


def rows_for(scores, methods, resamples=2):
    rows = []
    for d, per_method in enumerate(scores):
        for method, accuracy in zip(methods, per_method):
            for r in range(resamples):  # resamples straddle the mean
                rows.append(
                    {
                        "dataset": f"D{d}",
                        "method": method,
                        "seed": "0",
                        "accuracy": f"{accuracy + (0.01 if r else -0.01):.4f}",
                        "key": f"D{d}|{method}|{r}",
                        "n_train": "10",
                        "n_test": "10",
                        "n_timepoints": "20",
                        "fit_seconds": "1",
                        "predict_seconds": "1",
                        "warmup_seconds": "0",
                        "peak_rss_mb": "1",
                        "config": "{}",
                    }
                )
    return rows


def test_wins_draws_losses_and_wilcoxon():
    from scipy.stats import wilcoxon

    a, b = np.array([0.9, 0.8, 0.7, 0.6, 0.95, 0.5]), np.array([0.8, 0.8, 0.75, 0.5, 0.9, 0.4])
    w, d, lo, p = wins_draws_losses(a, b)
    assert (w, d, lo) == (4, 1, 1) and p == pytest.approx(wilcoxon(a, b).pvalue)
    assert np.isnan(wins_draws_losses([0.5, 0.5], [0.5, 0.5])[3])


def test_scores_are_means_over_runs_on_shared_datasets():
    rows = rows_for([[0.8, 0.6], [0.7, 0.9]], ["v2s", "minirocket"])
    rows = [r for r in rows if not (r["dataset"] == "D1" and r["method"] == "minirocket")]
    datasets, scores = score_table(rows, ["v2s", "minirocket"], ["D0", "D1"])
    assert datasets == ["D0"] and scores.tolist() == [[pytest.approx(0.8), pytest.approx(0.6)]]


def test_too_few_datasets_is_a_note(tmp_path):
    lines = comparison_section(
        rows_for([[0.8, 0.6]] * 4, ["v2s", "1nn-dtw"]), ["v2s", "1nn-dtw"], [f"D{i}" for i in range(4)], tmp_path, {}
    )
    assert any("needs at least 2 methods and 5 datasets" in line for line in lines)
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None or importlib.util.find_spec("aeon") is None,
    reason="pictures need matplotlib and aeon",
)
def test_report_gains_a_cd_diagram_and_scatter_plots(tmp_path):
    rng = np.random.default_rng(0)
    methods = ["v2s", "minirocket", "1nn-dtw"]
    scores = rng.uniform(0.5, 1.0, size=(6, 3))
    report = benchmark.write_report(
        rows_for(scores, methods),
        tmp_path / "report.md",
        seeds=1,
        methods=methods,
        names=[f"D{i}" for i in range(6)],
        resamples=2,
    ).read_text()
    assert "![critical difference](critical_difference.png)" in report
    assert (tmp_path / "critical_difference.png").stat().st_size > 1000
    for other in ("minirocket", "1nn-dtw"):
        assert (tmp_path / f"scatter_v2s_vs_{other}.png").exists()
        assert f"(scatter_v2s_vs_{other}.png)" in report
    w, d, lo, p = wins_draws_losses(scores[:, 0], scores[:, 1])
    assert f"| MiniRocket | {w} | {d} | {lo} | {p:.3g} |" in report
    assert "resample 0 is the official UCR train/test split" in report and "redux MiniROCKET 30 res." in report


def test_pictures_are_skipped_with_a_note_without_matplotlib(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        bench_stats.importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a)
    )
    methods = ["v2s", "minirocket"]
    lines = comparison_section(rows_for([[0.8, 0.6]] * 5, methods), methods, [f"D{i}" for i in range(5)], tmp_path, {})
    assert any("Pictures skipped: matplotlib not installed" in line for line in lines)
    assert any(line.startswith("| minirocket | 5 | 0 | 0 |") for line in lines)
    assert not list(tmp_path.iterdir())


def test_plain_scatter_without_seaborn(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("aeon")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        bench_stats.importlib.util, "find_spec", lambda name, *a: None if name == "seaborn" else real(name, *a)
    )
    methods = ["v2s", "minirocket"]
    comparison_section(
        rows_for(np.random.default_rng(1).uniform(0.5, 1, (5, 2)), methods),
        methods,
        [f"D{i}" for i in range(5)],
        tmp_path,
        {},
    )
    assert (tmp_path / "scatter_v2s_vs_minirocket.png").stat().st_size > 1000
