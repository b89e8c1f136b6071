import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from voice2series.sources import CrepeSource

from .conftest import tiny_classifier


@parametrize_with_checks([tiny_classifier()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def fitted(small_xy):
    X, y = small_xy
    return tiny_classifier().fit(X, y)


def test_predict_returns_the_original_labels(fitted, small_xy):
    X, y = small_xy
    assert set(fitted.predict(X)) <= {"cat", "dog", "emu"}
    np.testing.assert_array_equal(fitted.classes_, ["cat", "dog", "emu"])
    proba = fitted.predict_proba(X)
    assert proba.shape == (24, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[proba.argmax(axis=1)])


def test_fitted_attributes_describe_the_model(fitted, small_xy):
    X, _ = small_xy
    assert fitted.n_features_in_ == 30
    assert fitted.program_.shape == fitted.mask_.shape == (1024,)
    assert np.all(fitted.program_[fitted.mask_ == 0] == 0)
    assert np.any(fitted.program_ != 0)
    assert fitted.mapping_.shape == (3, 360)
    assert len(fitted.history_) == fitted.best_epoch_ or len(fitted.history_) >= fitted.best_epoch_
    assert {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"} <= set(
        fitted.history_[0]
    )


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda X: pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])]), id="dataframe"),
        pytest.param(lambda X: X.tolist(), id="list"),
        pytest.param(lambda X: X[:, None, :], id="numpy3d"),
        pytest.param(lambda X: X.astype(np.float32), id="float32"),
    ],
)
def test_input_types_give_the_same_predictions(small_xy, fitted, convert):
    X, y = small_xy
    other = tiny_classifier().fit(convert(X), y)
    np.testing.assert_allclose(other.predict_proba(convert(X)), fitted.predict_proba(X), atol=1e-6)


def test_dataframe_feature_names_are_recorded(small_xy):
    X, y = small_xy
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    clf = tiny_classifier(max_epochs=1).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)


def test_same_random_state_same_model_and_different_seed_differs(small_xy, fitted):
    X, y = small_xy
    np.testing.assert_array_equal(tiny_classifier().fit(X, y).predict_proba(X), fitted.predict_proba(X))
    other = tiny_classifier(random_state=1).fit(X, y)
    assert not np.allclose(other.predict_proba(X), fitted.predict_proba(X))


def test_fit_does_not_touch_global_torch_rng(small_xy):
    X, y = small_xy
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_classifier(max_epochs=1, program_dropout=0.3).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("dump,load", [(pickle.dumps, pickle.loads), (None, None)])
def test_pickle_and_joblib_round_trip(fitted, small_xy, tmp_path, dump, load):
    X, _ = small_xy
    if dump is None:
        path = tmp_path / "model.joblib"
        joblib.dump(fitted, path)
        restored = joblib.load(path)
    else:
        payload = dump(fitted)
        # A registered source is rebuilt from its package, not pickled.
        assert len(payload) < 200_000
        restored = load(payload)
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_custom_source_instance_is_pickled_with_its_weights(small_xy):
    X, y = small_xy
    clf = tiny_classifier(source=CrepeSource("tiny"), max_epochs=1).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


def test_source_weights_unchanged_by_fit(small_xy):
    X, y = small_xy
    source = CrepeSource("tiny")
    before = {k: v.clone() for k, v in source.state_dict().items()}
    tiny_classifier(source=source, mapping="linear", max_epochs=2).fit(X, y)
    for key, value in source.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


@pytest.mark.parametrize("mapping", ["random", "sequential", "linear"])
def test_every_mapping_trains(small_xy, mapping):
    X, y = small_xy
    clf = tiny_classifier(mapping=mapping, max_epochs=2).fit(X, y)
    assert clf.predict(X).shape == (24,)


@pytest.mark.parametrize(
    "params", [{"segments": 3, "placement": "centre"}, {"resample": "fit"}, {"resample": 64, "interpolation": "sinc"}]
)
def test_input_program_options_train(small_xy, params):
    X, y = small_xy
    clf = tiny_classifier(max_epochs=1, **params).fit(X, y)
    assert clf.predict(X).shape == (24,)
    expected_zeros = {"segments": 3 * 30, "resample": 512 if params.get("resample") == "fit" else 64}
    key = "segments" if "segments" in params else "resample"
    assert int((clf.mask_ == 0).sum()) == expected_zeros[key]


def test_early_stopping_restores_the_best_validation_epoch(italy):
    (X, y), _ = italy
    clf = tiny_classifier(early_stopping=True, max_epochs=12, n_iter_no_change=3, batch_size=32).fit(X, y)
    history = clf.history_
    scores = [(h["val_accuracy"], -h["val_loss"]) for h in history]
    assert clf.best_epoch_ == 1 + max(range(len(scores)), key=scores.__getitem__)
    assert len(history) <= clf.best_epoch_ + 3


@pytest.mark.parametrize("early_stopping", [False, "auto"])
def test_without_early_stopping_the_last_epoch_is_kept(small_xy, early_stopping):
    X, y = small_xy  # 24 series: "auto" trains on all of them
    clf = tiny_classifier(early_stopping=early_stopping, max_epochs=2).fit(X, y)
    assert clf.best_epoch_ == 2 and clf.history_[0]["val_loss"] is None


def test_auto_early_stopping_turns_on_for_large_training_sets():
    X = np.random.default_rng(0).normal(size=(200, 8))
    clf = tiny_classifier(max_epochs=1).fit(X, [0, 1] * 100)
    assert clf.history_[0]["val_accuracy"] is not None


def test_too_few_per_class_for_validation_warns_and_trains():
    X = np.random.default_rng(0).normal(size=(5, 10))
    with pytest.warns(UserWarning, match="validation split"):
        tiny_classifier(early_stopping=True, max_epochs=1).fit(X, [0, 0, 0, 0, 1])


def test_works_in_pipeline_and_grid_search(small_xy):
    X, y = small_xy
    pipeline = make_pipeline(FunctionTransformer(lambda X: X * 2.0), tiny_classifier(max_epochs=1))
    search = GridSearchCV(pipeline, {"v2sclassifier__mapping": ["random", "linear"]}, cv=2)
    search.fit(X, y)
    assert search.predict(X).shape == (24,)
    assert search.best_params_["v2sclassifier__mapping"] in {"random", "linear"}


@pytest.mark.parametrize("readout", ["inner", "both"])
def test_inner_readout_trains_the_program_and_survives_save_and_pickle(small_xy, readout, tmp_path):
    X, y = small_xy
    clf = tiny_classifier(readout=readout, max_epochs=2).fit(X, y)
    assert clf.model_.source.readout == readout
    assert np.abs(clf.program_).max() > 0  # the program trained through the inner statistics
    clf.save(tmp_path / "model.pt")
    loaded = type(clf).load(tmp_path / "model.pt")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(X), clf.predict_proba(X),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"readout": "inner", "mapping": "random"}, "mapping='linear'"),
        ({"readout": "both", "mapping": "flm"}, "mapping='linear'"),
        ({"readout": "inner", "finetune": "last"}, "finetune='last'"),
    ],
)
def test_inner_readout_refuses_what_needs_the_logits(small_xy, params, match):
    with pytest.raises(ValueError, match=match):
        tiny_classifier(max_epochs=1, **params).fit(*small_xy)
