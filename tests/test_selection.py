"""Choosing the source per dataset (selection.py): SourceChoiceClassifier's
contract, the choice itself, shared folds, what is refitted, bad input."""

import pickle

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import voice2series.mapping
from voice2series import V2SClassifier
from voice2series.mapping import LinearMapping
from voice2series.selection import PROBE_PARAMS, SourceChoiceClassifier, _lowest_loss

TWO_SOURCES = ["crepe-tiny", "crepe-full"]


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """CREPE-full's forward passes share the machine; one torch thread each."""


@pytest.fixture(autouse=True, scope="module")
def _one_penalty():
    """One logistic penalty instead of the grid, for every test and module fixture here: the choice
    reads the folds' log loss either way, and the grid (tested in test_mapping.py) would make each
    probe several times slower."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(voice2series.mapping, "LOGISTIC_CS", np.array([1.0]))
        yield


# The probe on CREPE's 360 logits: the contract does not depend on what the head reads, and a
# logistic regression of the 816 inner statistics makes check_classifiers_train 4x slower.
@parametrize_with_checks(
    [SourceChoiceClassifier(V2SClassifier(readout="logits", **PROBE_PARAMS), sources=["crepe-tiny"], random_state=0)]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def chosen(small_xy):
    X, y = small_xy
    return SourceChoiceClassifier(sources=TWO_SOURCES, random_state=0).fit(X, y)


def test_the_source_with_the_lowest_probe_log_loss_is_chosen(chosen, small_xy):
    X, _ = small_xy
    losses = chosen.probe_log_loss_
    assert list(losses) == TWO_SOURCES
    assert losses["crepe-tiny"] != losses["crepe-full"]
    assert chosen.source_ == min(losses, key=losses.get)
    assert chosen.best_estimator_.source == chosen.source_
    np.testing.assert_array_equal(chosen.predict(X), chosen.best_estimator_.predict(X))
    np.testing.assert_array_equal(chosen.classes_, ["cat", "dog", "emu"])


def test_the_loss_is_the_probes_own_cross_validated_log_loss(chosen, small_xy):
    X, y = small_xy
    seed = chosen.best_estimator_.random_state
    alone = V2SClassifier(source=chosen.source_, random_state=seed, **PROBE_PARAMS).fit(X, y)
    assert alone.head_cv_log_loss_ == pytest.approx(chosen.probe_log_loss_[chosen.source_])
    np.testing.assert_allclose(alone.predict_proba(X), chosen.predict_proba(X))


def test_every_candidate_is_scored_on_the_same_folds(small_xy, monkeypatch):
    seeds = []
    fit_logistic = LinearMapping.fit_logistic

    def recording(self, scores, targets, random_state=None):
        seeds.append(random_state)
        return fit_logistic(self, scores, targets, random_state)

    monkeypatch.setattr(LinearMapping, "fit_logistic", recording)
    X, y = small_xy
    SourceChoiceClassifier(sources=TWO_SOURCES, random_state=3).fit(X, y)
    assert len(seeds) == 2 and seeds[0] == seeds[1]


def _counting_fits(monkeypatch):
    fits = []
    fit = V2SClassifier.fit

    def counting(self, X, y):
        fits.append(self.get_params())
        return fit(self, X, y)

    monkeypatch.setattr(V2SClassifier, "fit", counting)
    return fits


def test_the_probe_is_not_refitted(small_xy, monkeypatch):
    fits = _counting_fits(monkeypatch)
    X, y = small_xy
    SourceChoiceClassifier(sources=TWO_SOURCES, random_state=0).fit(X, y)
    assert len(fits) == 2


def test_a_trained_configuration_is_fitted_on_the_chosen_source(small_xy, monkeypatch):
    fits = _counting_fits(monkeypatch)
    X, y = small_xy
    template = V2SClassifier(max_epochs=2, batch_size=64)
    clf = SourceChoiceClassifier(template, sources=TWO_SOURCES, random_state=0).fit(X, y)
    assert len(fits) == 3
    assert [f["max_epochs"] for f in fits] == [0, 0, 2]
    final = clf.best_estimator_
    assert (final.source, final.max_epochs, final.train_program) == (clf.source_, 2, True)
    assert len(final.history_) == 2 and final.program_.any()
    assert clf.program_fraction_ == final.program_fraction_
    assert template.source == "crepe-tiny" and not hasattr(template, "model_"), "the template is not changed"


def test_ties_go_to_the_first_candidate_and_no_folds_to_the_first_with_a_warning():
    assert _lowest_loss({"a": 0.5, "b": 0.5, "c": 0.7}) == "a"
    assert _lowest_loss({"a": 0.5, "b": 0.4}) == "b"
    with pytest.warns(UserWarning, match="single training series"):
        assert _lowest_loss({"a": None, "b": 0.4}) == "a"


def test_a_class_with_one_series_falls_back_to_the_first_source(small_xy):
    X, y = small_xy
    y = y.copy()
    y[0] = "fox"
    with pytest.warns(UserWarning, match="using the first, 'crepe-full'"):
        clf = SourceChoiceClassifier(sources=["crepe-full", "crepe-tiny"], random_state=0).fit(X, y)
    assert clf.source_ == "crepe-full"
    assert clf.probe_log_loss_ == {"crepe-full": None, "crepe-tiny": None}


@pytest.mark.parametrize(
    "sources, error, match",
    [
        ([], ValueError, "non-empty list of source names"),
        (["crepe-tiny", 3], ValueError, "non-empty list of source names"),
        (["crepe-tiny", "crepe-tiny"], ValueError, "lists a name twice"),
        (["crepe-tiny", "crepe-huge"], InvalidParameterError, "'source' parameter of V2SClassifier"),
    ],
)
def test_bad_sources_are_refused_with_the_fix(small_xy, sources, error, match):
    X, y = small_xy
    with pytest.raises(error, match=match):
        SourceChoiceClassifier(sources=sources).fit(X, y)


def test_pickle_round_trip(chosen, small_xy):
    X, _ = small_xy
    restored = pickle.loads(pickle.dumps(chosen))
    np.testing.assert_array_equal(restored.predict_proba(X), chosen.predict_proba(X))
    assert restored.source_ == chosen.source_
