"""Tuning options of the accuracy research (issue 5): amplitude, learning-rate
schedule, label smoothing, and ensembles whose members differ in more than the seed."""

import math

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from voice2series import V2SClassifier, make_ensemble
from voice2series.cli import _bench_params, _parser, _run_params
from voice2series.program import series_length_in_waveform
from voice2series.training import _make_scheduler

from .conftest import tiny_classifier


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """The machine is shared; every test here runs on one torch thread."""


def test_cosine_schedule_anneals_every_group_to_zero_over_max_epochs():
    weights = [torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)]
    optimizer = torch.optim.Adam([{"params": weights[:1]}, {"params": weights[1:], "lr": 1e-4}], lr=0.01)
    scheduler = _make_scheduler(optimizer, "cosine", max_epochs=10)
    rates = []
    for _ in range(10):
        rates.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    for epoch, (program_rate, source_rate) in enumerate(rates):
        factor = (1 + math.cos(math.pi * epoch / 10)) / 2
        assert program_rate == pytest.approx(0.01 * factor)
        assert source_rate == pytest.approx(1e-4 * factor)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_constant_schedule_keeps_the_step_size():
    optimizer = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.01)
    scheduler = _make_scheduler(optimizer, "constant", max_epochs=5)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 0.01


def test_cosine_schedule_changes_what_is_learned(italy):
    (X, y), _ = italy
    constant = tiny_classifier(max_epochs=4).fit(X, y)
    cosine = tiny_classifier(max_epochs=4, lr_schedule="cosine").fit(X, y)
    # Epoch 1 runs at the full rate under both schedules; later epochs differ.
    assert not np.allclose(constant.program_, cosine.program_)


def test_label_smoothing_is_the_training_loss(italy):
    (X, y), _ = italy
    # A negligible step size keeps the model at its initialisation, so the
    # first epoch's loss can be recomputed from the fitted probabilities.
    frozen = {"max_epochs": 1, "learning_rate": 1e-12}
    plain = tiny_classifier(**frozen).fit(X, y)
    smoothed = tiny_classifier(**frozen, label_smoothing=0.3).fit(X, y)
    log_p = np.log(plain.predict_proba(X))
    targets = np.searchsorted(plain.classes_, y)
    cross_entropy = -log_p[np.arange(len(y)), targets].mean()
    uniform = -log_p.mean()
    assert plain.history_[0]["train_loss"] == pytest.approx(cross_entropy, rel=1e-4)
    assert smoothed.history_[0]["train_loss"] == pytest.approx(0.7 * cross_entropy + 0.3 * uniform, rel=1e-4)


def test_label_smoothing_makes_the_model_less_confident(italy):
    (X, y), _ = italy
    plain = tiny_classifier(max_epochs=15).fit(X, y)
    smoothed = tiny_classifier(max_epochs=15, label_smoothing=0.5).fit(X, y)
    assert smoothed.predict_proba(X).max(axis=1).mean() < plain.predict_proba(X).max(axis=1).mean() - 0.03


def test_amplitude_scales_the_series_in_fit_and_predict(italy):
    (X, y), (X_test, _) = italy
    # A power of two scales float64 and float32 values exactly, so both fits
    # see bit-identical waveforms (training amplifies one-ulp differences).
    scaled_inside = tiny_classifier(amplitude=2.0).fit(X, y)
    scaled_outside = tiny_classifier().fit(2.0 * X, y)
    np.testing.assert_allclose(
        scaled_inside.predict_proba(X_test), scaled_outside.predict_proba(2.0 * X_test), rtol=1e-5, atol=1e-6
    )
    assert not np.allclose(scaled_inside.predict_proba(X_test), tiny_classifier().fit(X, y).predict_proba(X_test))


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


def test_cli_passes_tuning_options():
    args = _parser().parse_args(["run", "GunPoint", "--lr-schedule", "cosine", "--label-smoothing", "0.1"])
    assert _run_params(args) == {"lr_schedule": "cosine", "label_smoothing": 0.1}
    V2SClassifier(**_run_params(args))  # every name is a parameter
    assert _bench_params(_parser().parse_args(["bench", "--amplitude", "3"]))["amplitude"] == 3.0


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
    ensemble = make_ensemble(member_params=[{}, {"segments": 2}], random_state=0, **fast).fit(X, y)
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


def test_resample_auto_leaves_the_program_half_of_a_series_too_long_for_the_source(small_xy):
    X, y = small_xy
    long_X = np.repeat(X, 40, axis=1)  # 1200 samples > CREPE's 1024
    clf = tiny_classifier(resample="auto", max_epochs=1).fit(long_X, y)
    assert clf.predict(long_X).shape == (len(y),)
    assert clf.mask_.sum() == 512  # the series is shrunk to half the input
    assert clf.program_fraction_ == 0.5


def test_presets_build_the_documented_estimators():
    from voice2series import make_preset

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


def test_bench_keys_tell_a_two_source_preset_from_a_two_seed_ensemble():
    import json

    from voice2series.benchmark import _config, make_estimator

    preset, _ = make_estimator("v2s", 0, {"preset": "crepe-speech"})
    seeds, _ = make_estimator("v2s", 0, {"ensemble": 2})
    preset_config, seeds_config = json.loads(_config("v2s", preset)), json.loads(_config("v2s", seeds))
    assert preset_config["ensemble"] == seeds_config["ensemble"] == 2
    assert [m["source"] for m in preset_config["members"]] == ["crepe-tiny", "speech-embedding"]
    assert "members" not in seeds_config
    args = _parser().parse_args(["bench", "--preset", "crepe-speech"])
    assert _bench_params(args)["preset"] == "crepe-speech"
    with pytest.raises(ValueError, match="--preset and --ensemble"):
        _bench_params(_parser().parse_args(["bench", "--preset", "ensemble", "--ensemble", "3"]))


def test_tuned_model_saves_and_loads_with_its_options(italy, tmp_path):
    (X, y), (X_test, _) = italy
    clf = tiny_classifier(amplitude=2.0, lr_schedule="cosine", label_smoothing=0.1, resample="auto").fit(X, y)
    clf.save(tmp_path / "tuned.v2s")
    loaded = V2SClassifier.load(tmp_path / "tuned.v2s")
    assert (loaded.amplitude, loaded.lr_schedule, loaded.label_smoothing) == (2.0, "cosine", 0.1)
    np.testing.assert_allclose(loaded.predict_proba(X_test), clf.predict_proba(X_test), rtol=1e-6)
