"""The estimator's contract (estimator.py): scikit-learn checks, labels and fitted
attributes, seeding, the variants as parameters, refused parameters, Ctrl-C."""

import pickle
import signal

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted
from torch import nn

import voice2series.training
from voice2series import V2SClassifier
from voice2series.datasets import load_ucr
from voice2series.presets import ROUND3_DEFAULT
from voice2series.sources import from_module

from .helpers import grad_free_source, random_xy, tiny_classifier


# On the series alone and without the refit: the contract does not depend on how many views the
# head reads or on whether it is refitted, and the default's second view doubles the source passes
# and the features of every logistic start, and the refit runs the penalty search a second time (the
# checks' blobs make that search slow). The views' own dtype, pickle and save tests are below and in
# test_training.py, with the refit's.
@parametrize_with_checks([tiny_classifier(views="series", refit_head=False)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_the_default_views_predict_the_same_from_read_only_float32_and_float64(small_xy, one_torch_thread):
    """What check_estimators_dtypes and the read-only checks ask, on the default's two views: the
    difference view is computed from the float32 values the model places, so the input's dtype and
    writability change nothing."""
    X, y = small_xy
    X32 = X.astype(np.float32)
    X32.setflags(write=False)
    on_32 = tiny_classifier(max_epochs=2).fit(X32, y)
    on_64 = tiny_classifier(max_epochs=2).fit(X, y)
    assert X.dtype == np.float64 and on_32.model_.source.name == "crepe-tiny+crepe-tiny"
    np.testing.assert_allclose(on_32.predict_proba(X32), on_64.predict_proba(X), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def fitted(small_xy):
    X, y = small_xy
    return tiny_classifier().fit(X, y)


# ------------------------------------------------------------ fit and predict
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
    # The default reads the series and its first difference: two 1024-sample waveforms.
    assert fitted.program_.shape == fitted.mask_.shape == (2048,)
    assert np.all(fitted.program_[fitted.mask_ == 0] == 0)
    assert np.any(fitted.program_ != 0)
    # The default reads CREPE-tiny's inner statistics (816 per view), not its 360 logits.
    assert fitted.readout_ == "inner+inner"
    assert fitted.mapping_.shape == (3, 2 * 816)
    # 24 series: early_stopping="auto" holds out nothing, so every epoch runs and the last is kept.
    assert fitted.best_epoch_ == len(fitted.history_) == fitted.max_epochs
    assert all(h["val_loss"] is None and h["val_accuracy"] is None for h in fitted.history_)
    assert [h["epoch"] for h in fitted.history_] == list(range(1, fitted.max_epochs + 1))
    assert {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"} <= set(fitted.history_[0])


def test_same_random_state_same_model_and_different_seed_differs(small_xy, fitted):
    X, y = small_xy
    np.testing.assert_array_equal(tiny_classifier().fit(X, y).predict_proba(X), fitted.predict_proba(X))
    other = tiny_classifier(random_state=1).fit(X, y)
    assert not np.allclose(other.predict_proba(X), fitted.predict_proba(X))


def test_determinism_with_dropout_and_early_stopping(small_xy):
    X, y = small_xy
    params = {"program_dropout": 0.2, "early_stopping": True, "max_epochs": 4}
    first = tiny_classifier(**params).fit(X, y)
    assert first.history_[0]["val_accuracy"] is not None  # a validation split was held out
    second = tiny_classifier(**params).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_fit_does_not_touch_global_torch_rng(small_xy):
    X, y = small_xy
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_classifier(max_epochs=1, program_dropout=0.3).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_works_in_pipeline_and_grid_search(small_xy):
    X, y = small_xy
    pipeline = make_pipeline(FunctionTransformer(lambda X: X * 2.0), tiny_classifier(max_epochs=1))
    search = GridSearchCV(pipeline, {"v2sclassifier__mapping": ["random", "linear"]}, cv=2)
    search.fit(X, y)
    assert search.predict(X).shape == (24,)
    assert search.best_params_["v2sclassifier__mapping"] in {"random", "linear"}


@pytest.mark.slow
def test_gunpoint_well_above_chance():
    X_train, y_train = load_ucr("GunPoint", "train")
    X_test, y_test = load_ucr("GunPoint", "test")
    clf = V2SClassifier(max_epochs=20, random_state=0).fit(X_train, y_train)
    # Chance is 0.5 (balanced classes). Measured: 0.94 at 20 epochs, 0.94 +- 0.01
    # over seeds 0-2 with the default 100 (benchmarks/core_gunpoint.py).
    assert clf.score(X_test, y_test) >= 0.85


# ------------------------------------------------- variants as parameters
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
    clf = tiny_classifier(max_epochs=1, views="series", **params).fit(X, y)
    assert clf.predict(X).shape == (24,)
    expected_zeros = {"segments": 3 * 30, "resample": 512 if params.get("resample") == "fit" else 64}
    key = "segments" if "segments" in params else "resample"
    assert int((clf.mask_ == 0).sum()) == expected_zeros[key]


# ---------------------------------------------------------- refused values
@pytest.mark.parametrize(
    "X,y,message",
    [
        pytest.param(random_xy()[0], np.zeros(12), "at least 2 classes", id="single-class"),
        pytest.param(random_xy()[0], np.linspace(0, 1, 12), "Unknown label type", id="continuous-y"),
    ],
)
def test_bad_labels_are_refused_clearly(X, y, message):
    with pytest.raises(ValueError, match=message):
        tiny_classifier().fit(X, y)


def test_bad_parameters_are_named():
    X, y = random_xy()
    with pytest.raises(ValueError, match="'mapping' parameter"):
        V2SClassifier(mapping="nearest").fit(X, y)
    with pytest.raises(ValueError, match="'source' parameter"):
        V2SClassifier(source="wav2vec").fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"label_smoothing": -0.1}, "label_smoothing"),
        ({"lr_schedule": "step"}, "lr_schedule"),
        ({"amplitude": 0.0}, "amplitude"),
    ],
)
def test_bad_tuning_values_are_refused_by_name(small_xy, params, match):
    X, y = small_xy
    with pytest.raises(InvalidParameterError, match=match):
        tiny_classifier(**params).fit(X, y)


def test_official_training_options_are_validated(small_xy):
    X, y = small_xy
    for params in (
        {"program_init": "normal"},
        {"program_l2": -1.0},
        {"lr_decay": -0.1},
        {"mapping_reduction": "median"},
    ):
        with pytest.raises(InvalidParameterError):
            tiny_classifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="program_l2"):
        tiny_classifier(training="black-box", program_l2=0.05).fit(X, y)


def test_estimator_has_no_test_selection_option():
    assert not any("test" in name for name in V2SClassifier().get_params())


@pytest.mark.parametrize(
    "params, message",
    [
        ({"query_budget": 100}, "query_budget limits black-box training"),
        ({"training": "black-box", "finetune": "last"}, "cannot be combined with finetune"),
        ({"training": "black-box", "sample_specific_mask": True}, "cannot be combined with sample_specific_mask"),
        ({"training": "black-box", "program_dropout": 0.2}, "cannot be combined with program_dropout"),
        ({"mapping": "flm", "outputs_per_class": 200}, "cannot serve 3 classes with 200"),
        ({"source": "api"}, "reprogram it with training='black-box'"),
        ({"source": "identity", "finetune": "last"}, "has none to train"),
        ({"training": "grey-box"}, "training"),
        ({"head_init": "logistic", "mapping": "random"}, "starts a linear head"),
        ({"max_epochs": 0, "head_init": "random"}, "max_epochs=0 trains nothing"),
    ],
)
def test_bad_variant_combinations_are_refused_clearly(small_xy, params, message):
    X, y = small_xy
    sources = {
        "api": grad_free_source(input_length=1024),
        "identity": from_module(nn.Identity(), sample_rate=16000, input_length=64),
    }
    if params.get("source") in sources:
        params = {**params, "source": sources[params["source"]]}
    with pytest.raises(ValueError, match=message):
        tiny_classifier(**{"max_epochs": 1, **params}).fit(X, y)


def test_score_with_labels_of_another_type_is_refused():
    X, _ = random_xy()
    clf = tiny_classifier(max_epochs=1).fit(X, ["a", "b"] * 6)
    with pytest.raises(ValueError, match="Mix of label input types"):
        clf.score(X, [0, 1] * 6)


# ------------------------------------------------------------- interruption
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

    pipeline = make_pipeline(FunctionTransformer(lambda X: X * 2.0), tiny_classifier(max_epochs=1))
    search = GridSearchCV(pipeline, {"v2sclassifier__mapping": ["random", "linear"]}, cv=2)
    search.fit(X, y)
    assert search.predict(X).shape == (24,)
    assert search.best_params_["v2sclassifier__mapping"] in {"random", "linear"}


@pytest.mark.parametrize("readout", ["inner", "both"])
def test_inner_readout_trains_the_program_and_survives_save_and_pickle(small_xy, readout, tmp_path):
    X, y = small_xy
    clf = tiny_classifier(readout=readout, max_epochs=2, views="series").fit(X, y)
    assert clf.model_.source.readout == readout
    assert np.abs(clf.program_).max() > 0  # the program trained through the inner statistics
    clf.save(tmp_path / "model.pt")
    loaded = type(clf).load(tmp_path / "model.pt")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(clf)).predict_proba(X), clf.predict_proba(X), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "params, readout",
    [
        ({}, "inner"),
        ({"mapping": "random"}, "logits"),
        ({"finetune": "last"}, "logits"),
        ({"source": "identity"}, "logits"),
        ({"readout": "both"}, "both"),
    ],
)
def test_readout_auto_reads_the_inner_layers_only_where_a_linear_head_can(small_xy, params, readout):
    if params.get("source") == "identity":
        params = {"source": from_module(nn.Identity(), sample_rate=16000, input_length=64)}
    assert tiny_classifier(max_epochs=1, views="series", **params).fit(*small_xy).readout_ == readout


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


@pytest.mark.slow
def test_the_trained_program_beats_the_head_alone_on_gunpoint():
    """The control that tells a working program from a broken one.

    ``train_program=False`` keeps delta at zero: a linear probe of CREPE's
    logits. Measured on GunPoint, 20 epochs, test accuracy, full V2S vs head
    only (2026-11-29, after the round-2 resample rule): seed 0: 0.940 vs
    0.853 (+0.087); seed 1: 0.860 vs 0.813 (+0.047); seed 2: 0.887 vs 0.833
    (+0.053). The margin asked of seed 0, 0.03, is below the smallest gap
    over the three seeds. A program that is detached, zeroed or masked out
    scores exactly like the head alone and fails. With the mask inverted (the
    program added on the series, nothing around it) this test still passes,
    checked: that is a working program of another kind;
    tests/test_program.py catches the inversion.
    ArrowHead (30 epochs) was measured too and is not a reliable control:
    seed 0 0.817 vs 0.680, seed 1 0.686 vs 0.691.
    The defaults of rounds 3-6 are pinned (ROUND3_DEFAULT: a random head trained with the program,
    the series alone), as measured; round 7's default keeps the probe's head, whose own
    delta = 0 twin is the probe (docs/accuracy.md, round 7).
    The logits readout is pinned: with the inner readout (the default since
    round 3) the program's gain on GunPoint is within noise (test run, seed
    0: 0.980 vs 0.973, docs/accuracy.md), so it cannot tell a broken program
    from a working one there.
    """
    X_train, y_train = load_ucr("GunPoint", "train")
    X_test, y_test = load_ucr("GunPoint", "test")
    scores = {
        train_program: V2SClassifier(
            **{**ROUND3_DEFAULT, "max_epochs": 20}, random_state=0, readout="logits", train_program=train_program
        )
        .fit(X_train, y_train)
        .score(X_test, y_test)
        for train_program in (True, False)
    }
    assert scores[True] >= scores[False] + 0.03, scores
