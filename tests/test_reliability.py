"""Properties, determinism and interruption."""

import signal

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import voice2series.training
from voice2series.program import InputProgram, resample_series

from .conftest import tiny_classifier

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


def test_determinism_with_dropout_and_early_stopping(italy):
    (X, y), _ = italy
    params = {"program_dropout": 0.2, "early_stopping": True, "max_epochs": 4}
    first = tiny_classifier(**params).fit(X, y).predict_proba(X)
    second = tiny_classifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


def _interrupt_on_epoch(monkeypatch, epoch):
    real = voice2series.training._train_one_epoch
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == epoch:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C sends
        return real(*args, **kwargs)

    monkeypatch.setattr(voice2series.training, "_train_one_epoch", interrupted)


@pytest.fixture
def interactive_sigint():
    """SIGINT handled as in an interactive session, for one test.

    Python turns SIGINT into KeyboardInterrupt only if the signal was not
    ignored when the interpreter started, and a test run launched in the
    background of a non-interactive shell (``pytest &``, nohup) inherits it
    ignored.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_first_fit_leaves_the_estimator_unfitted(small_xy, monkeypatch, interactive_sigint):
    X, y = small_xy
    clf = tiny_classifier(max_epochs=5)
    _interrupt_on_epoch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    assert not hasattr(clf, "n_features_in_")


def test_ctrl_c_during_refit_keeps_the_previous_model(small_xy, monkeypatch, interactive_sigint):
    X, y = small_xy
    clf = tiny_classifier(max_epochs=2).fit(X, y)
    before = clf.predict_proba(X)
    _interrupt_on_epoch(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X[:, :20], y)  # another series length: a half-fit would change n_features_in_
    assert clf.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(clf.predict_proba(X), before)
