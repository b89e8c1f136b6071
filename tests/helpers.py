"""Shared test helpers: small models, small data, a local archive, a silent server.

Fixtures live in ``conftest.py`` (they may call these); test files import
from here, never from ``conftest``.
"""

import csv
import socket
import threading
import time

import numpy as np
import torch

from voice2series import V2SClassifier
from voice2series.sources import from_function


def tiny_classifier(**overrides):
    """The fast test configuration, with overrides."""
    return V2SClassifier(**{**V2SClassifier._get_test_params(), **overrides})


# ------------------------------------------------------------------ data
def labelled_series(n_per_class=8, length=30, seed=0):
    """Three classes ("cat", "dog", "emu"), ``n_per_class`` noise series each; dogs carry a sine."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3 * n_per_class, length))
    y = np.array(["cat", "dog", "emu"] * n_per_class)
    X[y == "dog"] += np.sin(np.linspace(0, 6, length))
    return X, y


def random_xy(n=12, length=20, seed=0):
    """Pure noise series with alternating labels 0, 1."""
    X = np.random.default_rng(seed).normal(size=(n, length))
    return X, np.array([0, 1] * (n // 2))


def sine_classes(n=24, length=40, seed=0):
    """Two well separated classes, "low" and "high" frequency sines plus noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)
    labels = [0, 1] * (n // 2)
    X = np.stack([np.sin(2 * np.pi * (2 + label) * t) + 0.3 * rng.normal(size=t.size) for label in labels])
    return X, np.array(["low", "high"] * (n // 2))


# --------------------------------------------------------------- sources
def grad_free_source(n_outputs=6, input_length=64):
    """A black box: a fixed random projection that refuses calls with gradients enabled."""
    weights = torch.randn(input_length, n_outputs, generator=torch.Generator().manual_seed(0))

    def api(waveform):
        if torch.is_grad_enabled():
            raise RuntimeError("the source was called with gradients enabled")
        return torch.tanh(waveform @ weights)

    return from_function(api, sample_rate=8000, input_length=input_length, name="api")


# ------------------------------------------------------- a local archive
def write_split(folder, name, split, labels, rows):
    """One ``<name>_<split>.tsv`` file in the UCR archive's layout (NaN for gaps)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "\t".join([label, *("NaN" if np.isnan(v) else repr(float(v)) for v in row)]) for label, row in zip(labels, rows)
    ]
    (folder / f"{name}_{split}.tsv").write_text("\n".join(lines) + "\n")


def make_archive(root, name="Synth", n=12, length=30, seed=0, labels=("-1", "1", "10")):
    """A tiny UCRArchive_2018 copy: separable classes, labels as strings."""
    rng = np.random.default_rng(seed)
    folder = root / "UCRArchive_2018" / name
    for split in ("TRAIN", "TEST"):
        y = [labels[i % len(labels)] for i in range(n)]
        X = rng.normal(scale=0.3, size=(n, length))
        X += np.array([labels.index(label) for label in y])[:, None] * np.sin(np.linspace(0, 3, length))
        write_split(folder, name, split, y, X)
    return folder


def read_csv(path):
    """The rows of a CSV file as dicts (a benchmark's results.csv)."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def report_cells(report, dataset):
    """The cells of ``dataset``'s row in a benchmark's markdown report."""
    line = next(row for row in report.splitlines() if row.startswith(f"| {dataset} |"))
    return [c.strip() for c in line.strip().strip("|").split("|")]


# ------------------------------------------------------------ networking
class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers.

    What a network that drops packets looks like to a client: the connection
    opens, then nothing comes back. ``close()`` (or leaving the ``with``
    block) closes the listening socket and every accepted connection, so a
    client still waiting sees the connection end. A connection is also closed
    after ``hold_s`` seconds, so a client that sets no timeout of its own (the
    bug a test looks for) fails the test instead of hanging it.
    """

    def __init__(self, hold_s=20.0):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.hold_s = hold_s
        self.accepted = []
        self.first_connection = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        opened = {}
        while not self._stop.is_set():
            for connection, since in list(opened.items()):
                if time.monotonic() - since > self.hold_s:
                    connection.close()
                    del opened[connection]
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            opened[connection] = time.monotonic()
            self.accepted.append(connection)
            self.first_connection.set()

    def close(self):
        self._stop.set()
        self._thread.join()
        self._listener.close()
        for connection in self.accepted:
            connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class ConnectionLog:
    """Stands in for ``socket.create_connection``: records each attempt, then connects.

    ``attempts`` holds ``(address, timeout)`` per call, the timeout as the
    caller passed it. With ``redirect_to`` set, every connection goes to that
    local port instead of the requested host (no name lookup happens).
    """

    def __init__(self, real_create_connection, redirect_to=None):
        self._real = real_create_connection
        self.redirect_to = redirect_to
        self.attempts = []

    def __call__(self, address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
        self.attempts.append((address, timeout))
        if self.redirect_to is not None:
            address = ("127.0.0.1", self.redirect_to)
        return self._real(address, timeout, source_address, **kwargs)

    @property
    def hosts(self):
        return [address[0] for address, _ in self.attempts]

    @property
    def timeouts(self):
        return [timeout for _, timeout in self.attempts]
