"""Figures (plots.py): every figure renders headless, with labelled axes."""

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from voice2series import V2SClassifier, explain, plots  # noqa: E402


@pytest.fixture(scope="module")
def fitted(fitted_default):
    return fitted_default


@pytest.mark.parametrize(
    "draw",
    [
        lambda clf, X, y: plots.plot_program(clf),
        lambda clf, X, y: plots.plot_reprogrammed(clf, X[0]),
        lambda clf, X, y: plots.plot_mel_spectrogram(clf, X[0]),
        lambda clf, X, y: plots.plot_training_curves(clf),
        lambda clf, X, y: plots.plot_mapping(clf),
        lambda clf, X, y: plots.plot_saliency(clf, X[:8], y[:8]),
        lambda clf, X, y: plots.plot_grad_cam(clf, X[:8], y[:8]),
        lambda clf, X, y: plots.plot_tsne(explain.tsne_embedding(clf, X[:10]), y[:10]),
    ],
    ids=["program", "reprogrammed", "mel", "training", "mapping", "saliency", "grad_cam", "tsne"],
)
def test_figures_render_headless_with_labelled_axes(fitted, draw, tmp_path):
    clf, X, y = fitted
    figure = draw(clf, X, y)
    assert isinstance(figure, Figure)
    figure.savefig(tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 1000
    data_axes = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
    # An axis sharing x with a labelled one (stacked panels) counts as labelled.
    assert all(
        ax.get_ylabel() and any(o.get_xlabel() for o in ax.get_shared_x_axes().get_siblings(ax)) for ax in data_axes
    )
    assert any(ax.get_title() for ax in data_axes) or figure._suptitle is not None


def test_training_curves_show_validation_when_there_was_one(small_xy):
    X, y = small_xy
    clf = V2SClassifier(max_epochs=2, early_stopping=True, random_state=0).fit(X, y)
    labels = [line.get_label() for line in plots.plot_training_curves(clf).axes[0].get_lines()]
    assert "train" in labels and "validation" in labels


def test_training_curves_show_the_cross_fitted_loss_of_a_cross_fitted_program(small_xy):
    X, y = small_xy
    clf = V2SClassifier(max_epochs=2, head_init="logistic", program_loss="cross-fitted", random_state=0).fit(X, y)
    labels = [line.get_label() for line in plots.plot_training_curves(clf).axes[0].get_lines()]
    assert "train" in labels and "cross-fitted" in labels and "validation" not in labels
