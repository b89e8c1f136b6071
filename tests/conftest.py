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


@pytest.fixture
def one_torch_thread():
    """Run a test on one intra-op thread, then restore the setting.

    The speaker encoder's LSTM runs 160 tiny sequential steps per layer; with
    two threads on a loaded 2-core machine each step waits at an OpenMP
    barrier for a descheduled thread (measured: 28 s per epoch instead of 0.5 s).
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
