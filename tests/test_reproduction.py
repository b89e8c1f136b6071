"""The Table 2 audit (voice2series.reproduction), the paper preset and ``cli.py reproduce``."""

import csv
import json

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from voice2series import V2SClassifier
from voice2series.cli import _parser, main
from voice2series.presets import PAPER_DIFFERENCES, PAPER_PARAMS, PRESETS, make_preset
from voice2series.reproduction import fit_with_test_curve, official_label_audit

from .helpers import make_archive, tiny_classifier


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


# ------------------------------------------------------------------ the preset
def test_paper_preset_is_the_official_configuration():
    clf = make_preset("paper", random_state=1)
    assert "paper" in PRESETS
    assert {k: clf.get_params()[k] for k in PAPER_PARAMS} == PAPER_PARAMS
    expected = {
        "source": "attrnn-synth", "mapping": "sequential", "outputs_per_class": 1,
        "mapping_reduction": "probabilities", "segments": 1, "placement": "start", "resample": None,
        "program_init": "glorot", "program_l2": 0.05, "program_dropout": 0.4, "learning_rate": 0.05,
        "lr_schedule": "inverse-time", "lr_decay": 0.48, "batch_size": 32, "max_epochs": 100,
        "early_stopping": False,
    }
    assert {k: clf.get_params()[k] for k in expected} == expected
    assert clf.random_state == 1
    assert make_preset("paper", max_epochs=3).max_epochs == 3  # options apply on top
    assert any("mask" in difference for difference in PAPER_DIFFERENCES)
    assert "paper" in _parser().parse_args(["run", "GunPoint", "--preset", "paper"]).preset


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


def test_new_parameters_are_command_line_options_and_validated(small_xy):
    args = _parser().parse_args([
        "run", "GunPoint", "--mapping-reduction", "probabilities", "--program-init", "glorot",
        "--program-l2", "0.05", "--lr-schedule", "inverse-time", "--lr-decay", "0.5",
    ])
    assert (args.mapping_reduction, args.program_init, args.program_l2, args.lr_decay) == (
        "probabilities", "glorot", 0.05, 0.5)
    X, y = small_xy
    for params in ({"program_init": "normal"}, {"program_l2": -1.0}, {"lr_decay": -0.1},
                   {"mapping_reduction": "median"}):
        with pytest.raises(InvalidParameterError):
            tiny_classifier(**params).fit(X, y)
    with pytest.raises(ValueError, match="program_l2"):
        tiny_classifier(training="black-box", program_l2=0.05).fit(X, y)


def test_glorot_init_and_l2_change_what_is_learned(small_xy):
    X, y = small_xy
    base = tiny_classifier(max_epochs=2, mapping="sequential", mapping_reduction="probabilities").fit(X, y)
    glorot = tiny_classifier(max_epochs=2, mapping="sequential", mapping_reduction="probabilities",
                             program_init="glorot", program_l2=0.05).fit(X, y)
    assert not np.allclose(base.program_, glorot.program_)


# ------------------------------------------------------------------ protocols
def test_last_epoch_of_the_test_curve_is_the_estimators_fit(small_xy):
    X, y = small_xy
    params = {"max_epochs": 3, "early_stopping": False, "program_init": "glorot", "program_l2": 0.05,
              "lr_schedule": "inverse-time", "mapping": "sequential", "mapping_reduction": "probabilities"}
    X_train, y_train, X_test, y_test = X[::2], y[::2], X[1::2], y[1::2]
    curve = fit_with_test_curve(tiny_classifier(**params), X_train, y_train, X_test, y_test)
    honest = tiny_classifier(**params).fit(X_train, y_train).score(X_test, y_test)
    assert curve["accuracy"] == pytest.approx(honest)
    assert len(curve["test_curve"]) == curve["epochs"] == 3
    assert curve["official_protocol_accuracy"] == max(curve["test_curve"]) >= curve["accuracy"]
    assert curve["test_curve"][curve["official_protocol_epoch"] - 1] == curve["official_protocol_accuracy"]
    with pytest.raises(ValueError, match="early_stopping=False"):
        fit_with_test_curve(tiny_classifier(early_stopping=True), X_train, y_train, X_test, y_test)


def test_reproduce_command_on_a_generated_archive(tmp_path, capsys):
    # A Table 2 name labelled {-1, 1}: the official rule collapses it to one class.
    make_archive(tmp_path, "FordA", n=8, length=20, labels=("-1", "1"))
    out = tmp_path / "out"
    argv = ["reproduce", "--datasets", "FordA,NotThere", "--ucr-root", str(tmp_path), "--seeds", "1",
            "--max-epochs", "1", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    assert "2 new and 0 resumed" in capsys.readouterr().out
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["config"], row["epochs"]) for row in rows] == [("paper", "1"), ("default", "1")]
    assert rows[0]["official_protocol_accuracy"] != "" and rows[1]["official_protocol_accuracy"] == ""
    assert json.loads(rows[0]["params"])["source"] == "attrnn-synth"
    report = (out / "report.md").read_text()
    assert "OFFICIAL PROTOCOL (selected on TEST)" in report
    assert "**COLLAPSED** (2 → 1)" in report
    assert '"max_epochs": 1' in report  # the deviation is stated
    assert "Not reachable here (pass --ucr-root): NotThere" in report
    line = next(line for line in report.splitlines() if line.startswith("| FordA"))
    assert "| 1.000 |" in line  # the paper's V2S_a on FordA
    assert main(argv) == 0  # resumes
    assert "0 new and 2 resumed" in capsys.readouterr().out
    (out / "report.md").unlink()
    assert main([*argv, "--seeds", "3", "--report-only"]) == 0  # fits nothing, rewrites the report
    assert "0 new and 0 resumed" in capsys.readouterr().out
    assert (out / "report.md").is_file()


def test_estimator_has_no_test_selection_option():
    assert not any("test" in name for name in V2SClassifier().get_params())


def test_ablation_config_is_the_paper_preset_without_its_regularisers():
    from voice2series.reproduction import CONFIGS, CURVE_CONFIGS

    preset, overrides = CONFIGS["paper-unregularised"]
    clf = make_preset(preset, **overrides)
    assert (clf.program_dropout, clf.program_l2, clf.source) == (0.0, 0.0, "attrnn-synth")
    assert "paper-unregularised" in CURVE_CONFIGS and "default" not in CURVE_CONFIGS
