"""Explanations (explain.py): sliced Wasserstein and the Theorem 1 diagnostic,
saliency, Grad-CAM, mapping waveform values back to the series, t-SNE."""

import numpy as np
import pytest
import torch
from torch import nn

from voice2series import V2SClassifier, explain
from voice2series.sources import AcousticSource


@pytest.fixture(scope="module")
def fitted(fitted_default):
    return fitted_default


# --- sliced Wasserstein ----------------------------------------------------


def test_sliced_wasserstein_of_identical_sets_is_zero():
    a = np.random.default_rng(0).normal(size=(50, 5))
    assert explain.sliced_wasserstein(a, a, n_projections=50, random_state=0) == 0.0


def test_sliced_wasserstein_of_a_shift_is_the_mean_projected_shift():
    # Translating a cloud by s moves every 1-D projection by <s, theta>.
    a = np.random.default_rng(0).normal(size=(40, 3))
    shift = np.array([2.0, 0.0, 0.0])
    distance = explain.sliced_wasserstein(a, a + shift, n_projections=4000, random_state=0)
    # E|theta_1| for theta uniform on the 2-sphere is 1/2.
    assert distance == pytest.approx(2.0 * 0.5, rel=0.05)


def test_sliced_wasserstein_grows_with_the_shift():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(60, 4)), rng.normal(size=(80, 4))
    distances = [explain.sliced_wasserstein(a, b + s, 100, random_state=0) for s in (0.0, 1.0, 3.0)]
    assert distances[0] < distances[1] < distances[2]


def test_sliced_wasserstein_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same number of features"):
        explain.sliced_wasserstein(np.zeros((3, 2)), np.zeros((3, 4)))


def test_reference_tones_are_pitched_at_the_source_rate(fitted):
    clf, _, _ = fitted
    source = clf.model_.source
    tones = explain.reference_tones(source, n_tones=4, random_state=0, fmin=440, fmax=440)
    assert tones.shape == (4, source.input_length)
    spectrum = np.abs(np.fft.rfft(tones[0].numpy()))
    peak_hz = np.argmax(spectrum) * source.sample_rate / source.input_length
    assert peak_hz == pytest.approx(440, abs=source.sample_rate / source.input_length)


def test_theorem1_distance_reports_before_and_after(fitted):
    clf, X, _ = fitted
    distances = explain.theorem1_distance(clf, X, n_reference=20, n_projections=20)
    assert set(distances) == {"before", "after"}
    assert all(d > 0 for d in distances.values())


# --- saliency and Grad-CAM -------------------------------------------------


def test_waveform_to_series_reads_the_series_samples_and_averages_copies():
    X = np.random.default_rng(0).normal(size=(6, 10))
    clf = V2SClassifier(max_epochs=1, segments=2, views="series", time_scales="1", random_state=0).fit(X, [0, 1] * 3)
    values = np.zeros((1, clf.model_.program.input_length))
    first, second = clf.model_.program.offsets
    values[0, first : first + 10] = np.arange(10)
    values[0, second : second + 10] = np.arange(10) + 2
    np.testing.assert_allclose(explain.waveform_to_series(clf, values)[0, 0], np.arange(10) + 1)


def test_waveform_to_series_separates_channels():
    X = np.random.default_rng(0).normal(size=(6, 2, 8))
    clf = V2SClassifier(max_epochs=1, views="series", time_scales="1", random_state=0).fit(X, [0, 1] * 3)
    values = np.zeros((1, clf.model_.program.input_length))
    for channel, offset in enumerate(clf.model_.program.offsets):
        values[0, offset : offset + 8] = channel + 1
    mapped = explain.waveform_to_series(clf, values)
    np.testing.assert_array_equal(mapped[0], [[1.0] * 8, [2.0] * 8])


def test_grad_cam_covers_every_frame_of_a_long_input():
    X = np.random.default_rng(0).normal(size=(6, 20))
    clf = V2SClassifier(max_epochs=1, input_length=2048, views="series", time_scales="1", random_state=0).fit(
        X, [0, 1] * 3
    )
    cam = explain.grad_cam(clf, X[:2])
    assert cam.shape == (2, 2048)
    np.testing.assert_allclose(cam.sum(axis=1), 1.0, rtol=1e-6)


def test_waveform_to_series_averages_the_waveforms_of_several_views():
    X = np.random.default_rng(0).normal(size=(6, 10))
    clf = V2SClassifier(max_epochs=1, views="series+diff", time_scales="1", random_state=0).fit(X, [0, 1] * 3)
    series_program, diff_program = clf.model_.program.programs
    values = np.zeros((1, clf.model_.program.input_length))
    values[0, :10] = np.arange(10)  # the series' samples in the first waveform
    values[0, 1024 : 1024 + 10] = np.arange(10) + 2  # the difference's in the second
    assert (series_program.offsets, diff_program.offsets) == ([0], [0])
    np.testing.assert_allclose(explain.waveform_to_series(clf, values)[0, 0], np.arange(10) + 1)


def test_grad_cam_maps_each_view_through_its_own_source():
    X = np.random.default_rng(0).normal(size=(6, 20))
    clf = V2SClassifier(max_epochs=1, views="series+diff", time_scales="1", random_state=0).fit(X, [0, 1] * 3)
    cam = explain.grad_cam(clf, X[:2])
    assert cam.shape == (2, 2048)
    np.testing.assert_allclose(cam.sum(axis=1), 1.0, rtol=1e-6)
    assert (cam[:, :1024].sum(axis=1) > 0).all() and (cam[:, 1024:].sum(axis=1) > 0).all()
    with pytest.raises(ValueError, match="reads 2 waveforms"):
        explain.grad_cam(clf, X[:2], layer="members.0.convs.1")


def test_waveform_to_series_undoes_resampling():
    X = np.random.default_rng(0).normal(size=(6, 10))
    clf = V2SClassifier(max_epochs=1, resample=19, views="series", time_scales="1", random_state=0).fit(X, [0, 1] * 3)
    values = np.zeros((1, clf.model_.program.input_length))
    values[0, :19] = np.linspace(0, 9, 19)  # a ramp over the stretched copy
    np.testing.assert_allclose(explain.waveform_to_series(clf, values)[0, 0], np.arange(10.0), atol=1e-12)


def test_waveform_to_series_maps_the_defaults_stretched_waveforms_back_to_the_series_length():
    """The default reads each view at its own length and stretched 4 times: a ramp over every
    waveform's series samples comes back as the series' own ramp."""
    X = np.random.default_rng(0).normal(size=(6, 10))
    clf = V2SClassifier(max_epochs=1, random_state=0).fit(X, [0, 1] * 3)
    programs = clf.model_.program.programs
    assert [program.series_length for program in programs] == [10, 40, 10, 40]
    parts = []
    for program in programs:
        part = np.zeros(program.input_length)
        (offset,) = program.offsets
        part[offset : offset + program.series_length] = np.linspace(0, 9, program.series_length)
        parts.append(part)
    mapped = explain.waveform_to_series(clf, np.concatenate(parts)[None])
    np.testing.assert_allclose(mapped[0, 0], np.arange(10.0), atol=1e-12)


def test_saliency_is_a_nonnegative_map_on_series_time_steps(fitted):
    clf, X, y = fitted
    heat = explain.saliency(clf, X[:5], classes=y[:5])
    assert heat.shape == (5, 1, X.shape[1])
    assert np.all(heat >= 0) and np.all(heat.sum(axis=2) > 0)


def test_saliency_rejects_unknown_classes(fitted):
    clf, X, _ = fitted
    with pytest.raises(ValueError, match="classes"):
        explain.saliency(clf, X[:2], classes=[7, 7])


def test_grad_cam_rows_are_distributions_over_the_waveform(fitted):
    clf, X, y = fitted
    cam = explain.grad_cam(clf, X[:6], classes=y[:6])
    assert cam.shape == (6, clf.model_.program.input_length)
    assert np.all(cam >= 0)
    np.testing.assert_allclose(cam.sum(axis=1), 1.0, rtol=1e-6)


class _ScaledInput(AcousticSource):
    """Conv with weight 1 (identity), then class c's logit = sum_t A_t * v_c[t]."""

    name, sample_rate, input_length, n_outputs = "toy", 16000, 32, 2

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 1, bias=False)
        self.conv.weight.data.fill_(1.0)
        self.readout = nn.Parameter(torch.stack([torch.linspace(0, 1, 32), -torch.ones(32)]))
        self.freeze()

    def forward(self, waveform):
        return (self.conv(waveform[:, None])[:, 0, None, :] * self.readout).sum(-1)


def test_grad_cam_matches_the_closed_form_on_a_linear_source():
    # Gradient of class c w.r.t. A is v_c, so the map is relu(mean(v_c) * x), x the
    # waveform: the series (16 samples, positive) followed by the program (16 samples).
    X = np.abs(np.random.default_rng(0).normal(size=(4, 16))) + 0.1
    clf = V2SClassifier(_ScaledInput(), max_epochs=1, mapping="sequential", outputs_per_class=1)
    clf.fit(X, [0, 1, 0, 1])
    cam = explain.grad_cam(clf, X, classes=[0, 0, 1, 1], layer="conv")
    with torch.no_grad():
        waveform = clf.model_.program(clf.placed_waveforms(X)).double().numpy()
    np.testing.assert_allclose(waveform[:, :16], X, rtol=1e-6)  # the series at the start, in float32
    assert np.any(waveform[:, 16:] != 0)  # a trained program fills the rest
    for rows, mean_weight in ((slice(0, 2), 0.5), (slice(2, 4), -1.0)):  # mean(v_0), mean(v_1)
        heat = np.maximum(mean_weight * waveform[rows], 0.0)
        np.testing.assert_allclose(cam[rows], heat / heat.sum(axis=1, keepdims=True), rtol=1e-5, atol=1e-7)
    # mean(v_1) < 0 and the series is positive: no part of the series supports class 1.
    np.testing.assert_array_equal(cam[2:, :16], 0.0)


def test_default_cam_layer_is_a_conv_of_the_source(fitted):
    clf, _, _ = fitted
    layer = explain.default_cam_layer(clf.model_.source)
    assert isinstance(clf.model_.source.get_submodule(layer), nn.Conv1d)


def test_tsne_embeds_before_and_after_in_two_dimensions(fitted):
    clf, X, _ = fitted
    embedding = explain.tsne_embedding(clf, X[:12])
    assert embedding["before"].shape == embedding["after"].shape == (12, 2)
    assert np.all(np.isfinite(embedding["after"]))


def test_waveform_to_series_maps_series_read_at_their_own_length_back_to_their_own_steps():
    """Own lengths: the placed waveforms of every member, read back, are each series
    itself on its own steps (a stretched member's copy resampled back), NaN after its end."""
    lengths = [1200, 700, 300, 90] * 3
    series = [np.linspace(-1, 1, n) ** 2 + 0.1 * np.sin(np.linspace(0, 6, n)) for n in lengths]
    clf = V2SClassifier(max_epochs=1, views="series", time_scales="1+4", unequal_lengths="own", random_state=0)
    clf.fit(series, [0, 1] * 6)
    placed = clf.placed_waveforms(series[:4]).numpy()
    mapped = explain.waveform_to_series(clf, placed, lengths[:4])
    for row, n in enumerate(lengths[:4]):
        np.testing.assert_allclose(mapped[row, 0, :n], series[row], atol=1e-3)
        assert np.isnan(mapped[row, 0, n:]).all()
    heat = explain.saliency(clf, series[:4])
    assert [int(np.isfinite(row[0]).sum()) for row in heat] == lengths[:4]
