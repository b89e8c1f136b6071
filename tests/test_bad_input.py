"""Every bad input gets a ValueError naming the problem and the fix."""

import numpy as np
import pandas as pd
import pytest
import torch

from voice2series import V2SClassifier

from .conftest import tiny_classifier


def _xy(n=12, length=20):
    X = np.random.default_rng(0).normal(size=(n, length))
    return X, np.array([0, 1] * (n // 2))


def _with(value):
    X, y = _xy()
    X[3, 4] = value
    return X, y


@pytest.mark.parametrize(
    "X,y,message",
    [
        pytest.param(*_with(np.nan), "NaN", id="nan"),
        pytest.param(*_with(np.inf), "infinity", id="inf"),
        pytest.param(*_with(1e300), "rescale", id="beyond-float32"),
        pytest.param(np.empty((0, 20)), np.array([]), "0 sample", id="empty"),
        pytest.param(_xy()[0], np.zeros(12), "at least 2 classes", id="single-class"),
        pytest.param(_xy()[0], np.array([0, 1] * 5), "inconsistent numbers of samples", id="length-mismatch"),
        pytest.param([[1.0, 2.0, 3.0], []] * 6, _xy()[1], "empty series", id="ragged-with-empty"),
        pytest.param(
            [np.zeros((2, 5)), np.zeros((3, 5))] * 6, _xy()[1], "numbers of channels", id="ragged-channels"
        ),
        pytest.param(np.random.default_rng(0).normal(size=(12, 2000)), _xy()[1], "resample='fit'", id="too-long"),
        pytest.param(np.full((12, 20), "a"), _xy()[1], "numbers only", id="strings"),
        pytest.param(
            pd.DataFrame(_xy()[0]).add_prefix("t").assign(note="x"), _xy()[1], "select_dtypes", id="object-column"
        ),
        pytest.param(_xy()[0], np.linspace(0, 1, 12), "Unknown label type", id="continuous-y"),
    ],
)
def test_bad_input_is_refused_clearly(X, y, message):
    with pytest.raises(ValueError, match=message):
        tiny_classifier().fit(X, y)


def test_too_many_classes_for_the_mapping():
    X = np.random.default_rng(0).normal(size=(8, 20))
    with pytest.raises(ValueError, match="mapping='linear'"):
        tiny_classifier(mapping="random", outputs_per_class=200).fit(X, [0, 1] * 4)


def test_bad_parameters_are_named():
    X, y = _xy()
    with pytest.raises(ValueError, match="'mapping' parameter"):
        V2SClassifier(mapping="nearest").fit(X, y)
    with pytest.raises(ValueError, match="'source' parameter"):
        V2SClassifier(source="wav2vec").fit(X, y)
    with pytest.raises(ValueError, match="device must be"):
        V2SClassifier(device="gpu", max_epochs=1).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_says_what_to_use():
    with pytest.raises(ValueError, match="use device='cpu'"):
        V2SClassifier(device="cuda", max_epochs=1).fit(*_xy())


def test_predict_checks_length_and_does_not_modify_the_callers_array():
    X, y = _xy()
    original = X.copy()
    clf = tiny_classifier(max_epochs=1).fit(X, y)
    clf.predict(X)
    np.testing.assert_array_equal(X, original)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :10])


def test_predict_refuses_other_channel_counts():
    X = np.random.default_rng(0).normal(size=(12, 2, 20))
    clf = tiny_classifier(max_epochs=1).fit(X, [0, 1] * 6)
    with pytest.raises(ValueError, match="fitted on 2"):
        clf.predict(X[:, :1, :])


def test_fit_does_not_modify_the_callers_arrays():
    X, y = _xy()
    X_before, y_before = X.copy(), y.copy()
    tiny_classifier(max_epochs=1, resample=64).fit(X, y)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_score_with_labels_of_another_type_is_refused():
    X, _ = _xy()
    clf = tiny_classifier(max_epochs=1).fit(X, ["a", "b"] * 6)
    with pytest.raises(ValueError, match="Mix of label input types"):
        clf.score(X, [0, 1] * 6)
