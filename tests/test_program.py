"""The input program (program.py): placement, mask, delta, dropout, the
sample-specific mask, resampling, amplitude, which series fit the waveform, and
the view of the series a program places."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from voice2series import V2SClassifier
from voice2series.program import (
    InputProgram,
    n_program_values,
    resample_series,
    segment_offsets,
    series_length_in_waveform,
    series_view,
    window_layout,
    window_starts,
)

from .helpers import random_xy, tiny_classifier


def _series(n=3, length=20, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(n, length))).float()


@pytest.mark.parametrize("segments,placement", [(1, "start"), (1, "centre"), (3, "start"), (4, "centre")])
def test_program_never_overwrites_the_series(segments, placement):
    program = InputProgram(256, 20, segments=segments, placement=placement)
    with torch.no_grad():
        program.delta.normal_(std=5.0)
    series = _series()
    waveform = program(program.place(series))
    for offset in program.offsets:
        torch.testing.assert_close(waveform[:, offset : offset + 20], series, rtol=0, atol=0)
    # Everywhere else the waveform is exactly the program (the padding is zero).
    outside = program.mask.bool()
    torch.testing.assert_close(waveform[:, outside], program.delta[outside].expand(3, -1))
    assert int((program.mask == 0).sum()) == 20 * segments


def test_mask_is_zero_exactly_under_the_series_copies():
    program = InputProgram(100, 10, segments=2, placement="centre")
    assert program.offsets == [20, 70]
    expected = np.ones(100)
    expected[20:30] = 0
    expected[70:80] = 0
    np.testing.assert_array_equal(program.mask.numpy(), expected)


def test_delta_receives_gradients_only_where_the_mask_is_one():
    program = InputProgram(64, 16)
    weights = torch.randn(3, 64, generator=torch.Generator().manual_seed(0))
    (program(program.place(_series(length=16))) * weights).sum().backward()
    grad = program.delta.grad
    assert torch.all(grad[:16] == 0)
    assert torch.count_nonzero(grad[16:]) > 0


def test_dropout_on_delta_only_in_training():
    program = InputProgram(512, 8, dropout=0.5)
    with torch.no_grad():
        program.delta.fill_(1.0)
    placed = program.place(_series(n=1, length=8))
    program.train()
    dropped = program(placed)[0, 8:]
    assert torch.any(dropped == 0) and torch.any(dropped == 2.0)  # inverted dropout scaling
    program.eval()
    torch.testing.assert_close(program(placed)[0, 8:], torch.ones(504))


def test_segment_offsets_are_identical_intervals_from_the_start():
    assert segment_offsets(1000, 100, segments=4) == [0, 250, 500, 750]
    assert segment_offsets(1000, 100, segments=4, placement="centre") == [75, 325, 575, 825]


def test_series_longer_than_its_segment_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="resample='fit'"):
        segment_offsets(100, 60, segments=2)


def test_resample_identity_and_linear_exactness():
    series = _series(length=33)
    torch.testing.assert_close(resample_series(series, 33), series)
    ramp = torch.linspace(-1, 1, 11)[None, :]
    stretched = resample_series(ramp, 101)
    torch.testing.assert_close(stretched, torch.linspace(-1, 1, 101)[None, :])
    shrunk = resample_series(series, 7)
    torch.testing.assert_close(shrunk[:, [0, -1]], series[:, [0, -1]])


def test_sinc_resampling_gives_the_target_length_and_keeps_a_slow_sine():
    t = torch.arange(300) / 300
    sine = torch.sin(2 * np.pi * 2 * t)[None, :]
    resampled = resample_series(sine, 1024, interpolation="sinc")
    assert resampled.shape == (1, 1024)
    expected = torch.sin(2 * np.pi * 2 * torch.arange(1024) / 1024)
    # Away from the edges the band-limited interpolation is exact to ~1e-3.
    torch.testing.assert_close(resampled[0, 100:-100], expected[100:-100], atol=2e-3, rtol=0)


# ------------------------------------------------------------- properties
finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@st.composite
def program_and_series(draw):
    input_length = draw(st.integers(8, 2048))
    segments = draw(st.integers(1, 4))
    length = draw(st.integers(1, input_length // segments))
    series = draw(arrays(np.float32, (draw(st.integers(1, 3)), length), elements=finite))
    placement = draw(st.sampled_from(["start", "centre"]))
    return InputProgram(input_length, length, segments, placement), torch.from_numpy(series)


@settings(max_examples=60, deadline=None)
@given(program_and_series(), st.floats(-10, 10))
def test_program_invariants(case, delta_value):
    program, series = case
    with torch.no_grad():
        program.delta.fill_(delta_value)
    waveform = program(program.place(series))
    assert waveform.shape == (series.shape[0], program.input_length)
    assert torch.isfinite(waveform).all()
    assert int((program.mask == 0).sum()) == series.shape[1] * len(program.offsets)
    for offset in program.offsets:
        assert torch.equal(waveform[:, offset : offset + series.shape[1]], series)
    assert torch.all(waveform[:, program.mask.bool()] == torch.tensor(delta_value, dtype=torch.float32))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(1, 300)), elements=finite), st.integers(1, 1024))
def test_linear_resampling_length_and_range(series, length):
    out = resample_series(torch.from_numpy(series), length)
    assert out.shape == (series.shape[0], length)
    assert torch.isfinite(out).all()
    # Linear interpolation never leaves the range of the input.
    tolerance = 1e-9 * (1 + np.abs(series).max())
    assert (out.numpy().min(axis=1) >= series.min(axis=1) - tolerance).all()
    assert (out.numpy().max(axis=1) <= series.max(axis=1) + tolerance).all()


# --------------------------------------------------- sample-specific mask
def test_sample_specific_mask_depends_on_input_and_spares_the_series(small_xy):
    X, _ = small_xy
    torch.manual_seed(0)
    program = InputProgram(1024, 30, segments=2, sample_specific_mask=True)
    with torch.no_grad():
        program.delta.normal_()
    placed = program.place(torch.tensor(X[:4], dtype=torch.float32))
    masks = program.sample_mask(placed)
    assert masks.shape == (4, 1024)
    assert not torch.allclose(masks[0], masks[1])
    series = program.mask == 0
    assert torch.all(masks[:, series] == 0) and torch.all(masks[:, ~series] > 0)
    waveforms = program(placed)
    assert torch.equal(waveforms[:, series], placed[:, series])


# ------------------------------------------------- what fits the waveform
def test_a_series_too_long_for_the_source_is_refused_with_the_fix():
    X = np.random.default_rng(0).normal(size=(12, 2000))
    with pytest.raises(ValueError, match="resample='fit'"):
        tiny_classifier(resample=None).fit(X, random_xy()[1])  # kept as is: no room for the program


def test_resample_auto_keeps_series_up_to_half_a_segment_and_shrinks_the_others():
    def length(n_timepoints, n_channels):
        return series_length_in_waveform(n_timepoints, 1024, segments=2, n_channels=n_channels, resample="auto")

    assert length(200, 1) == 200
    assert length(300, 1) == 256  # longer than half its 512-sample segment
    assert length(100, 2) == 100
    assert length(300, 2) == 128  # two channels, two copies each: 256-sample segments
    assert series_length_in_waveform(1460, 1024, resample="auto") == 512  # ACSF1
    assert series_length_in_waveform(24, 1024, resample=100) == 100
    assert series_length_in_waveform(24, 1024, resample="fit") == 512  # "fit" fills half


def test_resample_auto_leaves_the_program_half_of_a_series_too_long_for_the_source(small_xy, one_torch_thread):
    X, y = small_xy
    long_X = np.repeat(X, 40, axis=1)  # 1200 samples > CREPE's 1024
    clf = tiny_classifier(resample="auto", max_epochs=1, views="series").fit(long_X, y)
    assert clf.predict(long_X).shape == (len(y),)
    assert clf.mask_.sum() == 512  # the series is shrunk to half the input
    assert clf.program_fraction_ == 0.5


def test_amplitude_scales_the_series_in_fit_and_predict(small_xy, one_torch_thread):
    X, y = small_xy
    # A power of two scales float64 and float32 values exactly, so both fits
    # see bit-identical waveforms (training amplifies one-ulp differences).
    # The series alone: the difference view is scaled per series, so scaling X outside does not reach it.
    scaled_inside = tiny_classifier(amplitude=2.0, views="series").fit(X, y)
    scaled_outside = tiny_classifier(views="series").fit(2.0 * X, y)
    np.testing.assert_allclose(
        scaled_inside.predict_proba(X), scaled_outside.predict_proba(2.0 * X), rtol=1e-5, atol=1e-6
    )
    unscaled = tiny_classifier(views="series").fit(X, y)
    assert not np.allclose(scaled_inside.predict_proba(X), unscaled.predict_proba(X))


@pytest.mark.parametrize("resample", ["fit", "auto"])
@pytest.mark.parametrize("n_timepoints, segments, n_channels", [(24, 1, 1), (1460, 1, 1), (2000, 3, 2), (5000, 1, 1)])
def test_a_resampled_series_always_leaves_the_program_half_of_the_waveform(
    resample, n_timepoints, segments, n_channels
):
    length = series_length_in_waveform(n_timepoints, 1024, segments=segments, n_channels=n_channels, resample=resample)
    program = InputProgram(1024, length, segments=segments, n_channels=n_channels)
    assert program.mask.mean() >= 0.5


@pytest.mark.parametrize("resample, n_timepoints", [(1024, 24), (900, 24), (None, 1000)])
def test_a_length_that_leaves_the_program_too_little_room_is_refused_with_the_fix(resample, n_timepoints):
    with pytest.raises(ValueError, match="resample='auto'"):
        series_length_in_waveform(n_timepoints, 1024, resample=resample)
    assert series_length_in_waveform(24, 1024, resample=768) == 768  # a quarter left: accepted


@pytest.mark.parametrize("readout", ["logits", "inner"])
def test_the_program_acts_on_the_source_exactly_where_the_mask_is_one(readout):
    """A broken program (mask inverted, delta detached, the series overwritten)
    fails here: delta must change what the frozen source outputs, and the
    gradient must reach every sample of delta the mask leaves free and none
    under the series."""
    from voice2series.sources import CrepeSource

    source = CrepeSource("tiny", readout=readout)
    program = InputProgram(1024, 150, placement="centre")
    placed = program.place(_series(n=2, length=150))
    before = source(program(placed)).detach()
    with torch.no_grad():
        program.delta.normal_(generator=torch.Generator().manual_seed(1))
    outputs = source(program(placed))
    assert (outputs.detach() - before).abs().max() > 1e-3
    weights = torch.randn(outputs.shape, generator=torch.Generator().manual_seed(2))
    (outputs * weights).sum().backward()
    grad = program.delta.grad
    free = program.mask.bool()
    assert torch.all(grad[~free] == 0)
    assert torch.all(grad[free] != 0), f"{int((grad[free] == 0).sum())} free samples get no gradient"


def test_glorot_init_stays_within_keras_bounds_and_zeros_is_the_default():
    from voice2series.program import glorot_uniform_bound

    assert InputProgram(16000, 100).delta.abs().max().item() == 0.0
    torch.manual_seed(0)
    delta = InputProgram(16000, 100, init="glorot").delta.detach()
    bound = np.sqrt(6.0 / (16000 + 1))  # Keras glorot_uniform on a (16000, 1) kernel
    assert glorot_uniform_bound(16000) == pytest.approx(bound)
    assert delta.abs().max().item() <= bound
    assert delta.abs().max().item() > 0.99 * bound  # uniform over the whole interval
    assert delta.std().item() == pytest.approx(bound / np.sqrt(3), rel=0.03)
    with pytest.raises(ValueError, match="init"):
        InputProgram(100, 10, init="normal")


# ------------------------------------------ long series at their own resolution
def test_window_layout_cuts_long_series_into_half_frames_overlapping_by_about_half():
    assert window_layout(300, 1024) == (1, 300)  # fits half a frame: itself
    assert window_layout(512, 1024) == (1, 512)
    assert window_layout(513, 1024) == (2, 512)
    n_windows, window = window_layout(1460, 1024)  # ACSF1
    starts = window_starts(1460, window, n_windows)
    assert (n_windows, window) == (5, 512)
    assert starts[0] == 0 and starts[-1] + window == 1460  # the whole series, no padding
    hops = np.diff(starts)
    assert hops.max() <= window // 2 and hops.min() >= window // 2 - 40


@pytest.mark.parametrize("n_timepoints", [513, 1460, 5840, 8000])
def test_windows_a_window_apart_cover_every_sample_in_about_half_the_windows(n_timepoints):
    """hop=1.0: end to end, no sample between two windows left out, and no more windows than needed."""
    n_windows, window = window_layout(n_timepoints, 1024, hop=1.0)
    starts = window_starts(n_timepoints, window, n_windows)
    assert starts[0] == 0 and starts[-1] + window == n_timepoints
    assert np.diff(starts).max() <= window  # no gap
    assert n_windows == int(np.ceil(n_timepoints / window))  # the fewest windows that cover the series
    assert n_windows <= window_layout(n_timepoints, 1024)[0] // 2 + 1


def test_windows_put_each_window_in_its_own_frame_and_the_program_around_it():
    series = torch.arange(1.0, 1461.0)[None]  # sample i holds i + 1: positions are checkable
    n_windows, window = window_layout(1460, 1024)
    program = InputProgram(n_windows * 1024, 1460, segments=n_windows, window=window)
    with torch.no_grad():
        program.delta.fill_(-7.0)
    waveform = program(program.place(series))[0]
    for k, start in enumerate(window_starts(1460, window, n_windows)):
        frame = waveform[k * 1024 : (k + 1) * 1024]
        torch.testing.assert_close(frame[:window], series[0, start : start + window], rtol=0, atol=0)
        assert torch.all(frame[window:] == -7.0)  # the program's half of the frame
    assert program.mask.mean() == 0.5


def test_unplace_inverts_place_for_windows_and_for_copies():
    values = _series(n=2, length=1460).double()
    program = InputProgram(5 * 1024, 1460, segments=5, window=512)
    np.testing.assert_allclose(program.unplace(program.place(values).numpy())[:, 0], values.numpy())
    copies = InputProgram(256, 20, segments=3, n_channels=2)
    two_channels = _series(n=2, length=40).double().reshape(2, 2, 20)
    np.testing.assert_allclose(copies.unplace(copies.place(two_channels).numpy()), two_channels.numpy())


def test_resample_windows_keeps_the_series_resolution_and_one_frame_per_window(one_torch_thread):
    X, y = random_xy(n=12, length=1300)
    clf = tiny_classifier(resample="windows", max_epochs=1, views="series").fit(X, y)
    n_windows, window = window_layout(1300, 1024)
    assert clf.model_.source.input_length == n_windows * 1024 == clf.program_.shape[0]
    assert clf.program_fraction_ == 0.5
    placed = clf.placed_waveforms(X[:2]).numpy()
    start = window_starts(1300, window, n_windows)[1]
    np.testing.assert_allclose(placed[:, 1024 : 1024 + window], X[:2, start : start + window], rtol=1e-6)
    short = tiny_classifier(resample="windows", max_epochs=1, views="series").fit(*random_xy(n=12, length=200))
    assert short.model_.source.input_length == 1024 and short.mask_.sum() == 1024 - 200  # as "auto"


def test_resample_windows_places_a_series_that_fits_as_auto_whatever_the_layout(one_torch_thread):
    X = np.random.default_rng(0).normal(size=(12, 2, 200))
    y = random_xy()[1]
    for params in ({"segments": 2}, {"input_length": 2048}, {}):
        windows = tiny_classifier(resample="windows", max_epochs=1, **params).fit(X, y)
        auto = tiny_classifier(resample="auto", max_epochs=1, **params).fit(X, y)
        np.testing.assert_array_equal(windows.mask_, auto.mask_)
        assert windows.model_.source.input_length == auto.model_.source.input_length


@pytest.mark.parametrize(
    "overrides, shape, message",
    [
        ({"segments": 2}, (12, 1300), "segments=1"),
        ({"input_length": 4096}, (12, 1300), "input_length=None"),
        ({}, (12, 2, 1300), "univariate"),
    ],
)
def test_resample_windows_refuses_what_it_cannot_lay_out_with_the_fix(overrides, shape, message):
    X = np.random.default_rng(0).normal(size=shape)
    with pytest.raises(ValueError, match=message) as error:
        tiny_classifier(resample="windows", **overrides).fit(X, random_xy()[1])
    assert "resample='auto'" in str(error.value)


def test_a_program_pickled_before_windows_existed_still_places_series():
    program = InputProgram(64, 16, segments=2)
    state = program.__dict__.copy()
    del state["copy_length"], state["starts"]  # what an older version pickled
    restored = InputProgram.__new__(InputProgram)
    restored.__setstate__(state)
    series = _series(length=16)
    torch.testing.assert_close(restored.place(series), program.place(series))


def test_the_diff_view_is_each_channels_first_difference_at_unit_std_with_the_length_kept():
    X = np.random.default_rng(0).normal(size=(3, 2, 20)).cumsum(axis=-1) * 7.0
    diff = series_view(X, "diff")
    assert diff.shape == X.shape and (diff[..., 0] == 0).all()
    placed = X.astype(np.float32).astype(np.float64)  # the values the model places
    step = placed[..., 1:] - placed[..., :-1]
    scale = np.concatenate([np.zeros((3, 2, 1)), step], axis=-1).std(axis=-1, keepdims=True)
    np.testing.assert_allclose(diff[..., 1:], step / scale)
    np.testing.assert_allclose(diff.std(axis=-1), 1.0)
    assert series_view(X, "series") is X
    # A constant series has no difference: zeros, not NaN.
    assert (series_view(np.ones((1, 1, 5)), "diff") == 0).all()
    with pytest.raises(ValueError, match="Unknown view 'fft'"):
        series_view(X, "fft")


def test_a_diff_program_places_the_difference_where_a_series_program_places_the_series():
    X = np.random.default_rng(1).normal(size=(2, 1, 16))
    series_program, diff_program = InputProgram(64, 16), InputProgram(64, 16, view="diff")
    torch.testing.assert_close(diff_program.place_series(X), series_program.place_series(series_view(X, "diff")))
    assert not torch.equal(diff_program.place_series(X), series_program.place_series(X))
    with pytest.raises(ValueError, match="view must be one of"):
        InputProgram(64, 16, view="fft")


def test_a_program_pickled_before_views_existed_places_the_series():
    program = InputProgram(64, 16)
    state = program.__dict__.copy()
    del state["view"]  # what an older version pickled
    restored = InputProgram.__new__(InputProgram)
    restored.__setstate__(state)
    X = np.random.default_rng(2).normal(size=(2, 1, 16))
    torch.testing.assert_close(restored.place_series(X), program.place_series(X))


# ------------------------------------------------------------------ knots
def test_a_knotted_program_is_its_knots_linearly_interpolated_and_masked():
    program = InputProgram(1024, 300, knot_spacing=32)
    assert program.delta.shape == (33,) and n_program_values(1024, 32) == 33
    with torch.no_grad():
        program.delta.copy_(torch.arange(33.0))
    values = program.values()
    assert values.shape == (1024,)
    # Evenly spread knots: the ends are the first and last knots, the line between is straight.
    assert values[0] == 0 and values[-1] == 32
    np.testing.assert_allclose(values.detach().numpy(), np.linspace(0, 32, 1024), rtol=1e-5, atol=1e-4)
    acting = program.program()
    assert (acting[:300] == 0).all() and (acting[300:] != 0).all()


def test_only_knots_that_reach_the_program_samples_get_gradients():
    """A knot whose neighbouring samples all hold the series moves nothing, so it gets no gradient;
    the knots next to the program's samples do."""
    program = InputProgram(1024, 600, knot_spacing=32)
    placed = program.place(torch.randn(2, 600))
    program(placed).sum().backward()
    gradient = program.delta.grad
    spacing = 1023 / 32  # knot k sits at sample k * spacing
    inside = [k for k in range(33) if (k + 1) * spacing < 600]
    assert inside and (gradient[inside] == 0).all()
    assert (gradient[[k for k in range(33) if k * spacing > 600]] != 0).all()


def test_the_estimator_trains_the_knots_saves_them_and_refuses_them_black_box(small_xy, tmp_path):
    X, y = small_xy
    clf = tiny_classifier(max_epochs=2, views="series", program_knot_spacing=32).fit(X, y)
    clf.save(tmp_path / "knots.v2s")
    np.testing.assert_array_equal(V2SClassifier.load(tmp_path / "knots.v2s").predict_proba(X), clf.predict_proba(X))
    assert clf.model_.program.delta.shape == (n_program_values(clf.model_.program.input_length, 32),)
    assert clf.model_.program.delta.abs().sum() > 0
    # Piecewise linear: within a knot interval the acting program's second difference vanishes.
    acting = clf.program_[clf.mask_ == 1]
    assert np.median(np.abs(np.diff(acting, 2))) < 1e-6 * np.abs(acting).max()
    with pytest.raises(ValueError, match="training='black-box' cannot be combined with program_knot_spacing=32"):
        tiny_classifier(training="black-box", program_knot_spacing=32, max_epochs=1).fit(X, y)


def _own_length_batch(lengths, longest, seed=0):
    """Series of the given lengths padded to ``longest`` with NaN (as check_series pads them)."""
    rng = np.random.default_rng(seed)
    padded = np.full((len(lengths), 1, longest), np.nan)
    for row, length in zip(padded, lengths):
        row[0, :length] = rng.normal(size=length)
    return padded


@pytest.mark.parametrize("scale", [1, 3])
@pytest.mark.parametrize("hop", [0.5, 1.0])
def test_a_series_read_at_its_own_length_is_placed_as_it_would_be_alone(scale, hop):
    """Own lengths (unequal_lengths="own"): each series gets the windows of a program built for its length alone.

    The segments after its windows are NaN (the source leaves them out); its
    stretched copy is stretched by the member's factor, whatever the longest.
    """
    longest, lengths = 1500, [1500, 900, 300, 513]
    X = _own_length_batch(lengths, longest)
    n_windows, window = window_layout(scale * longest, 1024, hop)
    program = InputProgram(1024 * n_windows, scale * longest, n_windows, window=window, window_hop=hop)
    placed = program.place_series(X)
    for row, length in enumerate(lengths):
        own_windows, own_window = window_layout(scale * length, 1024, hop)
        alone = InputProgram(
            1024 * own_windows, scale * length, own_windows, window=own_window if own_windows > 1 else None
        )
        expected = alone.place_series(X[row : row + 1, :, :length])[0]
        torch.testing.assert_close(placed[row, : 1024 * own_windows], expected, rtol=0, atol=0)
        # Each later frame holds NaN where its window would sit, which marks it for the source.
        later = placed[row, 1024 * own_windows :].reshape(-1, 1024)
        assert torch.isnan(later[:, :window]).all() and (later[:, window:] == 0).all()


def test_a_series_ending_inside_its_only_copy_has_zeros_after_it():
    """Without windows the copy holds the series then zeros, never NaN (the source sees no padding)."""
    program = InputProgram(1024, 400)
    placed = program.place_series(_own_length_batch([400, 250], 400))
    assert not torch.isnan(placed).any()
    assert (placed[1, 250:] == 0).all() and (placed[1, :250] != 0).all()


def test_the_difference_view_of_a_series_read_at_its_own_length_is_its_difference_alone():
    X = _own_length_batch([50, 30], 50)
    view = series_view(X, "diff")
    np.testing.assert_array_equal(view[1, :, :30], series_view(X[1:, :, :30], "diff")[0])
    assert np.isnan(view[1, :, 30:]).all()


@pytest.mark.parametrize("hop", [0.5, 1.0])
def test_unplace_inverts_the_placement_of_series_read_at_their_own_length(hop):
    longest, lengths = 1500, [1500, 900, 300, 513]
    X = _own_length_batch(lengths, longest)
    n_windows, window = window_layout(longest, 1024, hop)
    program = InputProgram(1024 * n_windows, longest, n_windows, window=window, window_hop=hop)
    back = program.unplace(program.place_series(X).numpy(), lengths)
    np.testing.assert_allclose(back, X.astype(np.float32), rtol=1e-6)  # NaN where X is NaN
