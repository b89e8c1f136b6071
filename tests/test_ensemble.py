"""make_ensemble: seeds, probability averaging, and the bench's --ensemble."""

import json

import numpy as np
import pytest

from voice2series import V2SClassifier, make_ensemble
from voice2series.benchmark import _config, make_estimator

FAST = {"max_epochs": 2, "batch_size": 64}


@pytest.fixture(scope="module")
def two_class_xy():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 40)
    X = np.stack([np.sin(2 * np.pi * (2 + label) * t) + 0.3 * rng.normal(size=t.size) for label in [0, 1] * 12])
    return X, np.array(["low", "high"] * 12)


def test_members_share_parameters_and_get_distinct_reproducible_seeds():
    first = make_ensemble(4, random_state=3, learning_rate=0.02)
    again = make_ensemble(4, random_state=3, learning_rate=0.02)
    seeds = [member.random_state for _, member in first.estimators]
    assert seeds == [member.random_state for _, member in again.estimators]
    assert len(set(seeds)) == 4
    assert all(member.learning_rate == 0.02 for _, member in first.estimators)
    assert [m.random_state for _, m in make_ensemble(2).estimators] == [None, None]


def test_probabilities_are_the_mean_of_the_members(two_class_xy):
    X, y = two_class_xy
    ensemble = make_ensemble(2, random_state=0, **FAST).fit(X, y)
    members = ensemble.estimators_
    assert all(isinstance(member, V2SClassifier) for member in members)
    expected = np.mean([member.predict_proba(X) for member in members], axis=0)
    np.testing.assert_allclose(ensemble.predict_proba(X), expected, rtol=1e-6)
    assert set(ensemble.predict(X)) <= {"low", "high"}
    # Members really differ (different seeds), so averaging is not a no-op.
    assert not np.allclose(members[0].predict_proba(X), members[1].predict_proba(X))


def test_same_random_state_same_ensemble(two_class_xy):
    X, y = two_class_xy
    a = make_ensemble(2, random_state=1, **FAST).fit(X, y).predict_proba(X)
    b = make_ensemble(2, random_state=1, **FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: make_ensemble(0), ValueError, "n_members"),
        (lambda: make_ensemble(2.5), ValueError, "n_members"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_bench_builds_an_ensemble_and_records_its_size():
    estimator, _ = make_estimator("v2s", 0, {"ensemble": 3, "max_epochs": 7})
    assert len(estimator.estimators) == 3
    config = json.loads(_config("v2s", estimator))
    assert config["ensemble"] == 3 and config["max_epochs"] == 7
    single, _ = make_estimator("v2s", 0, {"max_epochs": 7})
    assert "ensemble" not in json.loads(_config("v2s", single))
