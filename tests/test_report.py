"""The explanation report (report.py): every figure written as a file, and a
markdown summary of the model, the explained series and the Theorem 1 distances."""

import pytest

pytest.importorskip("matplotlib")

from voice2series.report import explain_report  # noqa: E402

from .helpers import tiny_classifier  # noqa: E402

FIGURES = ("program", "reprogrammed", "mel_spectrogram", "training_curves", "mapping", "saliency", "grad_cam", "tsne")


def test_report_writes_every_figure_and_a_summary_that_shows_them(fitted_default, tmp_path):
    clf, X, y = fitted_default
    report = explain_report(clf, X, y, tmp_path / "new" / "folder", max_series=10, n_projections=10, image_format="svg")
    out = tmp_path / "new" / "folder"
    assert set(report["figures"]) == set(FIGURES)
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{name}.svg" for name in FIGURES] + ["summary.md"])
    assert all(report["figures"][name] == out / f"{name}.svg" for name in FIGURES)
    summary = report["summary"].read_text()
    assert report["summary"] == out / "summary.md"
    assert all(f"![{name}]({name}.svg)" in summary for name in FIGURES)
    # The summary describes the model and the subsample of series it explains.
    assert "source: `crepe-tiny`, views: `series+diff`" in summary and "classes: cat, dog, emu" in summary
    assert "accuracy on the 10 explained series" in summary
    assert f"epochs: {len(clf.history_)} (kept {clf.best_epoch_})" in summary
    before, after = report["theorem1"]["before"], report["theorem1"]["after"]
    assert f"| series alone (zero-padded) | {before:.4f} |" in summary
    assert f"| reprogrammed | {after:.4f} |" in summary


def test_report_refuses_an_unknown_image_format_before_writing(fitted_default, tmp_path):
    clf, X, y = fitted_default
    with pytest.raises(ValueError, match="image_format must be 'png' or 'svg', got 'gif'"):
        explain_report(clf, X, y, tmp_path / "out", image_format="gif")
    assert not (tmp_path / "out").exists()


def test_a_probe_without_epochs_gets_its_report(small_xy, tmp_path):
    X, y = small_xy
    probe = tiny_classifier(max_epochs=0, head_init="logistic", train_program=False).fit(X, y)
    report = explain_report(probe, X, y, tmp_path, max_series=6, n_projections=5, image_format="svg")
    assert "epochs: 0 (the starting head, a logistic probe; nothing trained)" in report["summary"].read_text()
