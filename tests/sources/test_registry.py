"""The source registry and the source base classes (sources/__init__.py, sources/base.py):
names, the available() table, wrapping any torch module or function, pickling by name."""

import dataclasses
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from voice2series import V2SClassifier, sources
from voice2series.sources import (
    AcousticSource,
    CrepeSource,
    available,
    from_module,
    get_source,
    source_names,
)


@pytest.fixture(scope="module")
def tiny():
    return CrepeSource("tiny")


def test_get_source_by_name_lists_valid_names_on_error():
    assert {"crepe-tiny", "crepe-full"} <= set(source_names())
    assert isinstance(get_source("crepe-tiny"), AcousticSource)
    with pytest.raises(ValueError, match="crepe-tiny"):
        get_source("wav2vec")


def test_get_source_freezes_a_source_instance_and_refuses_options(tiny):
    assert get_source(tiny) is tiny
    with pytest.raises(ValueError, match="named sources only"):
        get_source(tiny, input_length=2048)


class _Detached(torch.nn.Module):
    """Cuts the graph, as a forward pass through numpy would."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(64, 4)

    def forward(self, waveform):
        return self.linear(waveform.detach())


def test_from_module_freezes_and_lets_gradients_reach_the_input():
    net = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.Dropout(0.5), torch.nn.Tanh())
    source = from_module(net, sample_rate=8000, input_length=64, name="toy")
    assert (source.n_outputs, source.sample_rate, source.input_length, source.name) == (8, 8000, 64, "toy")
    assert not any(p.requires_grad for p in source.parameters())
    source.train()
    assert not any(module.training for module in source.modules())  # dropout stays off
    waveform = torch.randn(3, 64, requires_grad=True)
    first = source(waveform)
    torch.testing.assert_close(first, source(waveform))
    first.sum().backward()
    assert torch.count_nonzero(waveform.grad) > 0
    assert source.spec() is None  # custom sources pickle with their weights


@pytest.mark.parametrize(
    "module, match",
    [
        (_Detached(), "Gradients do not reach the input"),
        (torch.nn.Identity(), None),  # (batch, 64) passes: 64 outputs
        (torch.nn.Flatten(0), r"returned \(128,\)"),
        (torch.nn.Linear(10, 2), "failed on a \\(2, 64\\)"),
    ],
)
def test_from_module_checks_output_shape_and_gradient(module, match):
    if match is None:
        assert from_module(module, 16000, 64).n_outputs == 64
        return
    with pytest.raises(ValueError, match=match):
        from_module(module, 16000, 64)


@pytest.mark.parametrize(
    "args, match",
    [
        (("not a module", 16000, 64), "needs a torch.nn.Module"),
        ((torch.nn.Identity(), 0, 64), "sample_rate must be a positive int"),
        ((torch.nn.Identity(), 16000, 6.5), "input_length must be a positive int"),
    ],
)
def test_from_module_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        from_module(*args)


def test_classifier_fits_on_a_wrapped_module(small_xy):
    X, y = small_xy
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh())
    clf = V2SClassifier(from_module(net, 16000, 64), max_epochs=3, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (24,)
    assert not any(p.requires_grad for p in clf.model_.source.parameters())


def test_available_lists_every_registered_source():
    table = available()
    assert list(table.index) == source_names()
    assert {"weights", "sample_rate", "input_length", "n_outputs", "n_parameters", "offline"} <= set(table.columns)
    assert table.loc["crepe-tiny", "offline"] and table.loc["crepe-full", "offline"]


@pytest.mark.parametrize("name", source_names())
def test_registry_facts_match_the_built_source(name):
    row = available().loc[name]
    if not row.offline:
        pytest.skip(f"{name} weights not on this machine: {row.how_to_get}")
    if name == "attrnn":
        pytest.skip("the checkpoint's classes are whatever it was trained on")
    source = get_source(name)
    assert (row.sample_rate, row.input_length, row.n_outputs) == (
        source.sample_rate,
        source.input_length,
        source.n_outputs,
    )
    assert row.n_parameters == sum(p.numel() for p in source.parameters())
    assert source.spec()["name"] == name


def test_available_reports_missing_weights(monkeypatch):
    def missing():
        raise FileNotFoundError("put the file at /somewhere")

    entry = sources._REGISTRY["crepe-tiny"]
    monkeypatch.setitem(sources._REGISTRY, "crepe-tiny", dataclasses.replace(entry, locate_weights=missing))
    row = available().loc["crepe-tiny"]
    assert not row.offline and "/somewhere" in row.how_to_get


def test_source_last_layers_generic_fallback():
    net = nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 4), nn.Tanh())
    source = from_module(net, sample_rate=8000, input_length=64)
    assert source.last_layers() == [net[2]]
    assert CrepeSource("tiny").last_layers()[0] is not None


# Kept out of the CREPE sources: the estimator tests already fit those.
# Shortest inputs each source accepts, to keep the test fast.
NEW_SOURCES = {"speech-embedding": 12512, "speaker-encoder": 16000}


@pytest.mark.parametrize("name, input_length", NEW_SOURCES.items())
def test_named_sources_fit_predict_and_pickle_without_weights(name, input_length, small_xy, one_torch_thread):
    table = available()
    if name not in table.index or not table.loc[name, "offline"]:
        pytest.skip(f"{name} is not usable offline on this machine")
    X, y = small_xy
    clf = V2SClassifier(name, input_length=input_length, max_epochs=2, batch_size=24, random_state=0).fit(X, y)
    predicted = clf.predict(X)
    assert set(predicted) <= set(y)
    blob = pickle.dumps(clf)
    assert len(blob) < 2_000_000  # the source's weights are rebuilt from the registry, not pickled
    np.testing.assert_array_equal(pickle.loads(blob).predict(X), predicted)
