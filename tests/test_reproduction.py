"""The Table 2 audit (reproduction.py): the official label rule, the test-curve protocols,
the ablation configurations (``cli.py reproduce`` is tested in test_cli.py)."""

import numpy as np
import pytest

from voice2series.presets import make_preset
from voice2series.reproduction import fit_with_test_curve, official_label_audit

from .helpers import tiny_classifier


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """The machine is shared; every test here runs on one torch thread."""


# ------------------------------------------------------------------ label audit
def test_labels_minus_one_and_one_collapse_to_one_class():
    audit = official_label_audit(["-1", "1", "-1", "1"], ["1", "-1"])
    assert (audit["n_classes"], audit["n_classes_official"], audit["collapsed"]) == (2, 1, True)
    assert audit["labels_official"] == "1"  # -1 % 2 == 1 in Python and numpy


def test_labels_one_two_three_stay_three_classes():
    audit = official_label_audit(np.array(["1", "2", "3", "3"]))
    assert (audit["n_classes"], audit["n_classes_official"], audit["collapsed"]) == (3, 3, False)
    assert audit["labels_official"] == "0 1 2"  # 1, 2, 3 -> 1, 2, 0
    assert audit["shifted"]


def test_labels_from_zero_are_left_alone_and_text_labels_are_not_audited():
    audit = official_label_audit(["0", "1", "2"])
    assert (audit["shifted"], audit["n_classes_official"]) == (False, 3)
    # {1.0, 2.0} as written by some archive files: read as integers, like np.loadtxt + astype(int)
    assert official_label_audit(["1.0", "2.0"])["n_classes_official"] == 2
    assert official_label_audit(["cat", "dog"])["n_classes_official"] is None


# ------------------------------------------------------------------ protocols
def test_last_epoch_of_the_test_curve_is_the_estimators_fit(small_xy):
    X, y = small_xy
    params = {
        "max_epochs": 3,
        "early_stopping": False,
        "program_init": "glorot",
        "program_l2": 0.05,
        "lr_schedule": "inverse-time",
        "mapping": "sequential",
        "mapping_reduction": "probabilities",
    }
    X_train, y_train, X_test, y_test = X[::2], y[::2], X[1::2], y[1::2]
    curve = fit_with_test_curve(tiny_classifier(**params), X_train, y_train, X_test, y_test)
    honest = tiny_classifier(**params).fit(X_train, y_train).score(X_test, y_test)
    assert curve["accuracy"] == pytest.approx(honest)
    assert len(curve["test_curve"]) == curve["epochs"] == 3
    assert curve["official_protocol_accuracy"] == max(curve["test_curve"]) >= curve["accuracy"]
    assert curve["test_curve"][curve["official_protocol_epoch"] - 1] == curve["official_protocol_accuracy"]
    with pytest.raises(ValueError, match="early_stopping=False"):
        fit_with_test_curve(tiny_classifier(early_stopping=True), X_train, y_train, X_test, y_test)


def test_ablation_config_is_the_paper_preset_without_its_regularisers():
    from voice2series.reproduction import CONFIGS, CURVE_CONFIGS

    preset, overrides = CONFIGS["paper-unregularised"]
    clf = make_preset(preset, **overrides)
    assert (clf.program_dropout, clf.program_l2, clf.source) == (0.0, 0.0, "attrnn-synth")
    assert "paper-unregularised" in CURVE_CONFIGS and "default" not in CURVE_CONFIGS
