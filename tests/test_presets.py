"""Presets and ensembles (presets.py): make_preset's documented recipes, and
make_ensemble's seeds, member parameters and probability averaging."""

import numpy as np
import pytest

from voice2series import V2SClassifier, make_ensemble, make_preset
from voice2series.presets import PAPER_DIFFERENCES, PAPER_PARAMS, PRESETS, PROBE_PARAMS, ROUND3_DEFAULT
from voice2series.training import resolve_auto

from .helpers import sine_classes

# Each view at its own length: ensembles are about members, not time scales.
FAST = {"max_epochs": 2, "batch_size": 64, "time_scales": "1"}


@pytest.fixture(scope="module")
def two_class_xy():
    return sine_classes()


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
    # Random heads: members whose heads start at the same logistic probe can agree closely.
    ensemble = make_ensemble(2, random_state=0, head_init="random", **FAST).fit(X, y)
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


def test_ensemble_members_take_their_own_parameters_over_the_shared_ones():
    ensemble = make_ensemble(
        member_params=[{}, {"learning_rate": 0.03, "segments": 2}, {"source": "speaker-encoder"}],
        random_state=0,
        learning_rate=0.02,
        max_epochs=7,
    )
    members = [member for _, member in ensemble.estimators]
    assert [m.learning_rate for m in members] == [0.02, 0.03, 0.02]
    assert [m.segments for m in members] == [1, 2, 1]
    assert [m.source for m in members] == ["crepe-tiny", "crepe-tiny", "speaker-encoder"]
    assert all(m.max_epochs == 7 for m in members)
    assert len({m.random_state for m in members}) == 3


def test_mixed_ensemble_fits_each_member_as_configured(small_xy):
    X, y = small_xy
    fast = {k: v for k, v in V2SClassifier._get_test_params().items() if k != "random_state"}
    ensemble = make_ensemble(member_params=[{}, {"segments": 2}], random_state=0, views="series", **fast).fit(X, y)
    one, two = ensemble.estimators_
    # Two segments place the series twice, so the program acts on fewer samples.
    assert two.mask_.sum() == one.mask_.sum() - X.shape[1]
    expected = (one.predict_proba(X) + two.predict_proba(X)) / 2
    np.testing.assert_allclose(ensemble.predict_proba(X), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"member_params": {"source": "crepe-tiny"}}, "list of dicts"),
        ({"member_params": ["crepe-tiny"]}, "list of dicts"),
        ({"member_params": []}, "one dict per member"),
        ({"n_members": 3, "member_params": [{}, {}]}, "one dict per member"),
        ({"n_members": True}, "n_members"),
    ],
)
def test_bad_member_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_ensemble(**kwargs)


def test_presets_build_the_documented_estimators():
    assert make_preset("default", random_state=3).get_params() == V2SClassifier(random_state=3).get_params()
    assert len(make_preset("ensemble", random_state=0).estimators) == 5
    two = make_preset("crepe-speech", random_state=0, learning_rate=0.02)
    crepe, speech = (member for _, member in two.estimators)
    assert (crepe.source, speech.source) == ("crepe-tiny", "speech-embedding")
    assert (speech.segments, speech.max_epochs, speech.resample) == (20, 30, "auto")
    assert crepe.max_epochs == 50
    assert crepe.learning_rate == speech.learning_rate == 0.02
    with pytest.raises(ValueError, match="Unknown preset 'best'"):
        make_preset("best")


def test_presets_measured_before_round_7_keep_the_defaults_they_ran_with():
    """Rounds 7, 9, 12 and 13 changed defaults; a preset keeps the configuration its numbers came from."""
    members = [member for name in ("ensemble", "crepe-speech") for _, member in make_preset(name).estimators]
    for member in members:
        assert {name: member.get_params()[name] for name in ROUND3_DEFAULT if name != "max_epochs"} == {
            name: value for name, value in ROUND3_DEFAULT.items() if name != "max_epochs"
        }
    assert [m.max_epochs for m in members] == [100] * 5 + [50, 30]
    assert (make_preset("probe").views, make_preset("probe").time_scales) == ("series", "1")
    assert make_preset("probe-auto").estimator.views == "series"
    assert make_preset("probe-auto").estimator.time_scales == "1"
    # Every preset but the default was measured with variable-length series stretched (round 15 changed that).
    diff = V2SClassifier(**PROBE_PARAMS, views="series+diff", time_scales="1", unequal_lengths="resample")
    assert make_preset("probe-diff").get_params() == diff.get_params()
    # Rounds 10-11 measured it with the stretched windows half a window apart (round 13 changed that).
    scales = V2SClassifier(
        **PROBE_PARAMS, views="series+diff", time_scales="1+4", stretched_window_hop=0.5, unequal_lengths="resample"
    )
    assert make_preset("probe-scales").get_params() == scales.get_params()


def test_the_probe_preset_fits_a_head_once_and_no_program(small_xy):
    X, y = small_xy
    probe = make_preset("probe", random_state=0, batch_size=64).fit(X, y)
    assert probe.readout_ == "inner" and probe.history_ == [] and not probe.program_.any()
    assert not probe.model_.program.delta.requires_grad


def test_the_probe_auto_preset_chooses_between_the_crepes_and_refuses_a_fixed_source():
    clf = make_preset("probe-auto", random_state=4, batch_size=64)
    assert clf.sources == ["crepe-tiny", "crepe-full"] and clf.random_state == 4
    probe = V2SClassifier(batch_size=64, **PROBE_PARAMS, views="series", time_scales="1", unequal_lengths="resample")
    assert clf.estimator.get_params() == probe.get_params()
    with pytest.raises(ValueError, match="chooses the source among"):
        make_preset("probe-auto", source="crepe-full")


def test_paper_preset_is_the_official_configuration():
    clf = make_preset("paper", random_state=1)
    assert "paper" in PRESETS
    assert {k: clf.get_params()[k] for k in PAPER_PARAMS} == PAPER_PARAMS
    expected = {
        "source": "attrnn-synth",
        "mapping": "sequential",
        "outputs_per_class": 1,
        "mapping_reduction": "probabilities",
        "segments": 1,
        "placement": "start",
        "resample": None,
        "program_init": "glorot",
        "program_l2": 0.05,
        "program_dropout": 0.4,
        "learning_rate": 0.05,
        "lr_schedule": "inverse-time",
        "lr_decay": 0.48,
        "batch_size": 32,
        "max_epochs": 100,
        "early_stopping": False,
    }
    assert {k: clf.get_params()[k] for k in expected} == expected
    assert clf.random_state == 1
    assert make_preset("paper", max_epochs=3).max_epochs == 3  # options apply on top
    assert any("mask" in difference for difference in PAPER_DIFFERENCES)


def test_paper_preset_fits_predicts_and_reloads(small_xy, tmp_path):
    X, y = small_xy
    clf = make_preset("paper", random_state=0, max_epochs=1).fit(X[:8], y[:8])
    assert clf.predict(X[:3]).shape == (3,)
    assert clf.mapping_.shape == (3, 37)
    assert np.allclose(clf.predict_proba(X[:3]).sum(axis=1), 1.0)
    clf.save(tmp_path / "paper.v2s")
    loaded = V2SClassifier.load(tmp_path / "paper.v2s")
    assert loaded.mapping_reduction == "probabilities"
    assert np.allclose(loaded.predict_proba(X[:3]), clf.predict_proba(X[:3]))


@pytest.mark.parametrize(
    "preset, program_scales, hop, lengths",
    [
        # benchmarks/round15_default_bench.sh (round 15; round 13's run for the datasets of one length)
        ("default", "4", 1.0, "own"),
        ("program-scales", "all", 1.0, "resample"),  # benchmarks/round14_preset_bench.sh (round 14)
    ],
)
def test_a_preset_is_the_configuration_its_declared_bench_ran(preset, program_scales, hop, lengths):
    """The bench script's options, as the preset resolves them."""
    resolved = resolve_auto(make_preset(preset).get_params())
    ran = {
        "max_epochs": 30,
        "head_init": "logistic",
        "head_learning_rate": 0.0,
        "views": "series+diff",
        "refit_head": True,
        "time_scales": "1+4",
        "program_scales": program_scales,
        "stretched_window_hop": hop,
        "unequal_lengths": lengths,
        "train_program": True,
    }
    assert {name: resolved[name] for name in ran} == ran
