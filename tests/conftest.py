"""Fixtures only; the helpers they call live in ``tests/helpers.py``."""

import os
import socket

# A pytest-xdist worker (``pytest -n 2``) computes on one thread: the workers already fill the
# cores, and every library's default of one thread per core would put several on each (clean-clone
# CI: 857 s instead of 360 s). Set before torch or onnxruntime is imported, which read
# these when they start their thread pools.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"
from types import SimpleNamespace

import pytest

from voice2series.archive import ROOT_ENV
from voice2series.datasets import load_ucr

from .helpers import ConnectionLog, SilentServer, labelled_series


def pytest_configure(config):
    """A pytest-xdist worker's torch and BLAS pools at one thread, in case a plugin loaded them
    before the variables above were set."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(1)
        threadpool_limits(1)


@pytest.fixture(scope="session")
def italy():
    """ItalyPowerDemand: 67 training series of length 24, two classes (a real dataset: tests
    that fit on it are marked slow)."""
    return load_ucr("ItalyPowerDemand", "train"), load_ucr("ItalyPowerDemand", "test")


@pytest.fixture(scope="session")
def small_xy():
    """24 series of length 30 in three classes (``helpers.labelled_series``)."""
    return labelled_series()


@pytest.fixture(scope="session")
def fitted_default(small_xy):
    """``(clf, X, y)``: V2SClassifier's defaults for 2 epochs, fitted on ``small_xy``
    (explanations and figures of a fitted model)."""
    from voice2series import V2SClassifier

    X, y = small_xy
    return V2SClassifier(max_epochs=2, random_state=0).fit(X, y), X, y


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


@pytest.fixture
def isolated_downloads(monkeypatch, tmp_path):
    """Every place a download could write (home, cache, temporary files) under ``tmp_path``/home."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("VOICE2SERIES_CACHE", str(home / "cache"))
    monkeypatch.delenv(ROOT_ENV, raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    return tmp_path


@pytest.fixture
def offline(monkeypatch, isolated_downloads):
    """No name resolution, downloads isolated: ``.path`` is the test's folder, ``.lookups``
    the host names refused, in order."""
    lookups = []

    def no_network(*args, **kwargs):
        lookups.append(args[0])
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    return SimpleNamespace(path=isolated_downloads, lookups=lookups)


@pytest.fixture
def connections(monkeypatch):
    """Records every ``socket.create_connection`` (address and timeout) and lets it through."""
    log = ConnectionLog(socket.create_connection)
    monkeypatch.setattr(socket, "create_connection", log)
    return log


@pytest.fixture
def silent_network():
    """A network that drops packets: every TCP connection opens to a local server that
    never answers. Yields the :class:`ConnectionLog` (``.server`` is the server)."""
    real = socket.create_connection
    with SilentServer() as server:
        log = ConnectionLog(real, redirect_to=server.port)
        log.server = server
        socket.create_connection = log
        try:
            yield log
        finally:
            socket.create_connection = real  # restored before the server closes


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """An empty torch.hub cache, so no real cached checkpoint is found."""
    import torch

    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    return tmp_path / "hub"
