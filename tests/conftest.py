import numpy as np
import pytest

from voice2series import V2SClassifier
from voice2series.datasets import load_ucr


def tiny_classifier(**overrides):
    """The fast test configuration, with overrides."""
    return V2SClassifier(**{**V2SClassifier._get_test_params(), **overrides})


@pytest.fixture(scope="session")
def italy():
    """ItalyPowerDemand: 67 training series of length 24, two classes."""
    return load_ucr("ItalyPowerDemand", "train"), load_ucr("ItalyPowerDemand", "test")


@pytest.fixture(scope="session")
def small_xy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 30))
    y = np.array(["cat", "dog", "emu"] * 8)
    X[y == "dog"] += np.sin(np.linspace(0, 6, 30))
    return X, y
