"""Real fits on real UCR data through the public API and the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from voice2series import V2SClassifier
from voice2series.datasets import load_ucr

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gunpoint_well_above_chance():
    X_train, y_train = load_ucr("GunPoint", "train")
    X_test, y_test = load_ucr("GunPoint", "test")
    clf = V2SClassifier(max_epochs=20, random_state=0).fit(X_train, y_train)
    # Chance is 0.5 (balanced classes). Measured: 0.94 at 20 epochs, 0.94 +- 0.01
    # over seeds 0-2 with the default 100 (benchmarks/core_gunpoint.py).
    assert clf.score(X_test, y_test) >= 0.85


def test_cli_run_prints_accuracy_as_json():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "run", "ItalyPowerDemand", "--max-epochs", "2", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT.parent,  # the CLI must not depend on the working directory
    )
    result = json.loads(completed.stdout)
    assert result["dataset"] == "ItalyPowerDemand" and result["n_test"] == 1029
    assert 0.0 <= result["accuracy"] <= 1.0 and result["epochs"] <= 2


def test_cli_unknown_dataset_is_one_clear_line():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "run", "Beef"], capture_output=True, text=True
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: UCR dataset 'Beef' is not bundled")
    assert "Traceback" not in completed.stderr


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
    """
    X_train, y_train = load_ucr("GunPoint", "train")
    X_test, y_test = load_ucr("GunPoint", "test")
    scores = {
        train_program: V2SClassifier(max_epochs=20, random_state=0, train_program=train_program)
        .fit(X_train, y_train)
        .score(X_test, y_test)
        for train_program in (True, False)
    }
    assert scores[True] >= scores[False] + 0.03, scores
