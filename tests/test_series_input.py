"""What X may be (series_input.py): input containers, multivariate and
variable-length series, and every bad input refused with a message naming the fix."""

import numpy as np
import pandas as pd
import pytest
import torch

from voice2series.datasets import bundled_datasets, load_ucr
from voice2series.series_input import check_series, equalise_lengths, is_ragged, to_channel_arrays

from .helpers import random_xy, tiny_classifier


def _with(value):
    X, y = random_xy()
    X[3, 4] = value
    return X, y


@pytest.mark.parametrize(
    "X,y,message",
    [
        pytest.param(*_with(np.nan), "NaN", id="nan"),
        pytest.param(*_with(np.inf), "infinity", id="inf"),
        pytest.param(*_with(1e300), "rescale", id="beyond-float32"),
        pytest.param(np.empty((0, 20)), np.array([]), "0 sample", id="empty"),
        pytest.param(random_xy()[0], np.array([0, 1] * 5), "inconsistent numbers of samples", id="length-mismatch"),
        pytest.param([[1.0, 2.0, 3.0], []] * 6, random_xy()[1], "empty series", id="ragged-with-empty"),
        pytest.param(
            [np.zeros((2, 5)), np.zeros((3, 5))] * 6, random_xy()[1], "numbers of channels", id="ragged-channels"
        ),
        pytest.param(np.full((12, 20), "a"), random_xy()[1], "numbers only", id="strings"),
        pytest.param(
            pd.DataFrame(random_xy()[0]).add_prefix("t").assign(note="x"),
            random_xy()[1],
            "select_dtypes",
            id="object-column",
        ),
    ],
)
def test_bad_input_is_refused_clearly(X, y, message):
    with pytest.raises(ValueError, match=message):
        tiny_classifier().fit(X, y)


def test_predict_checks_length_and_does_not_modify_the_callers_array():
    X, y = random_xy()
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
    X, y = random_xy()
    X_before, y_before = X.copy(), y.copy()
    tiny_classifier(max_epochs=1, resample=64).fit(X, y)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


@pytest.fixture(scope="module")
def fitted_on_array(small_xy):
    X, y = small_xy
    return tiny_classifier().fit(X, y)


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda X: pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])]), id="dataframe"),
        pytest.param(lambda X: X.tolist(), id="list"),
        pytest.param(lambda X: X[:, None, :], id="numpy3d"),
        pytest.param(lambda X: X.astype(np.float32), id="float32"),
    ],
)
def test_input_types_give_the_same_predictions(small_xy, fitted_on_array, convert):
    X, y = small_xy
    other = tiny_classifier().fit(convert(X), y)
    np.testing.assert_allclose(other.predict_proba(convert(X)), fitted_on_array.predict_proba(X), atol=1e-6)


def test_dataframe_feature_names_are_recorded(small_xy):
    X, y = small_xy
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    clf = tiny_classifier(max_epochs=1).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)


# ------------------------------------------------ multivariate, variable length
def test_ragged_detection():
    assert is_ragged([np.zeros(3), np.zeros(4)])
    assert not is_ragged([np.zeros(3), np.zeros(3)])
    assert not is_ragged(np.zeros((2, 3)))
    nested = pd.DataFrame({"dim_0": [pd.Series([1.0, 2.0]), pd.Series([1.0, 2.0, 3.0])]})
    assert is_ragged(nested)


def test_equalise_lengths_resamples_linearly_to_the_target():
    arrays = to_channel_arrays([np.array([0.0, 1.0]), np.array([0.0, 2.0, 4.0])])
    np.testing.assert_allclose(equalise_lengths(arrays, 5)[:, 0], [[0, 0.25, 0.5, 0.75, 1], [0, 1, 2, 3, 4]])


def test_nested_dataframe_and_list_give_the_same_model():
    rng = np.random.default_rng(0)
    series = [rng.normal(size=rng.integers(20, 40)) for _ in range(12)]
    y = [0, 1] * 6
    nested = pd.DataFrame({"dim_0": [pd.Series(s) for s in series]})
    from_list = tiny_classifier(max_epochs=2).fit(series, y)
    from_frame = tiny_classifier(max_epochs=2).fit(nested, y)
    assert from_list.n_timepoints_ == max(len(s) for s in series)
    np.testing.assert_allclose(from_list.predict_proba(series), from_frame.predict_proba(nested), atol=1e-6)


def test_multivariate_channels_each_get_a_segment():
    X = np.random.default_rng(0).normal(size=(12, 3, 50))
    clf = tiny_classifier(max_epochs=1, segments=2, views="series").fit(X, [0, 1] * 6)
    assert (clf.n_channels_, clf.n_timepoints_, clf.n_features_in_) == (3, 50, 150)
    assert int((clf.mask_ == 0).sum()) == 2 * 3 * 50
    offsets = clf.model_.program.offsets
    assert offsets == [0, 170, 340, 510, 680, 850]  # 6 equal parts of 1024: 2 copies x 3 channels


def test_multivariate_that_does_not_fit_says_how_to_fix():
    X = np.zeros((12, 6, 200))
    with pytest.raises(ValueError, match="resample='fit'"):
        tiny_classifier(max_epochs=1, resample=None).fit(X, [0, 1] * 6)


@pytest.mark.slow
def test_basic_motions_multivariate_well_above_chance():
    X_train, y_train = load_ucr("BasicMotions", "train")
    X_test, y_test = load_ucr("BasicMotions", "test")
    clf = tiny_classifier(max_epochs=30, batch_size=32).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.6  # chance: 0.25 (4 classes); measured 0.875


@pytest.mark.slow
@pytest.mark.skipif("PickupGestureWiimoteZ" not in bundled_datasets(), reason="needs aeon's bundled data")
def test_variable_length_dataset_well_above_chance():
    X_train, y_train = load_ucr("PickupGestureWiimoteZ", "train")
    X_test, y_test = load_ucr("PickupGestureWiimoteZ", "test")
    assert len({len(x) for x in X_train}) > 1
    clf = tiny_classifier(max_epochs=30, batch_size=32).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.5  # chance: 0.1 (10 classes); measured 0.66 (round 9's default)


def _ragged(lengths=(700, 300, 1200, 90, 520, 1100) * 2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=n) for n in lengths], [0, 1] * (len(lengths) // 2)


def test_own_lengths_pad_with_nan_and_resample_only_a_longer_series_when_predicting():
    series, y = _ragged()
    clf = tiny_classifier(max_epochs=1, unequal_lengths="own")
    X, _ = check_series(clf, series, y, reset=True)
    assert X.shape == (12, 1, 1200)
    np.testing.assert_array_equal(X[1, 0, :300], series[1])
    assert np.isnan(X[1, 0, 300:]).all() and not np.isnan(X[2]).any()
    clf.n_timepoints_, clf.n_channels_ = 1200, 1
    longer, _ = check_series(clf, [np.arange(2400.0), np.arange(5.0)], reset=False)
    np.testing.assert_allclose(longer[0, 0], np.linspace(0, 2399, 1200))
    np.testing.assert_array_equal(longer[1, 0, :5], np.arange(5.0))


def test_own_lengths_refuse_missing_values_inside_a_series():
    series, y = _ragged()
    series[3][10] = np.nan
    with pytest.raises(ValueError, match="Series 3 holds NaN"):
        tiny_classifier(unequal_lengths="own").fit(series, y)


def test_own_lengths_and_the_sample_specific_mask_are_refused_together():
    series, y = _ragged()
    with pytest.raises(ValueError, match="sample_specific_mask=False"):
        tiny_classifier(unequal_lengths="own", sample_specific_mask=True, resample="auto").fit(series, y)


def test_own_lengths_place_a_short_series_unstretched_and_train_a_finite_program():
    series, y = _ragged()
    clf = tiny_classifier(max_epochs=2, unequal_lengths="own", time_scales="1+4").fit(series, y)
    placed = clf.placed_waveforms(series)
    # The 300-sample series sits in its first window as it is, zeros after it.
    np.testing.assert_allclose(placed[1, :300].numpy(), series[1].astype(np.float32))
    assert (placed[1, 300:512] == 0).all()
    assert all(torch.isfinite(program.delta).all() for program in clf.model_.program.programs)
    assert np.isfinite(clf.predict_proba(series)).all()


def test_own_lengths_change_nothing_for_series_of_one_length():
    """The bench reuses equal-length rows across the two settings: they must be the same computation."""
    X, y = random_xy(n=12, length=700)
    own = tiny_classifier(max_epochs=2, unequal_lengths="own").fit(X, y)
    resampled = tiny_classifier(max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(own.predict_proba(X), resampled.predict_proba(X))


def test_read_at_own_lengths_a_list_of_shorter_series_is_predicted_and_an_array_of_that_width_refused():
    series, y = _ragged()
    clf = tiny_classifier(max_epochs=1, unequal_lengths="own").fit(series, y)
    shorter = [s[:250] for s in series[:3]]
    np.testing.assert_allclose(clf.predict_proba(shorter), clf.predict_proba(shorter + [series[2]])[:3], atol=1e-6)
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(np.stack(shorter))
