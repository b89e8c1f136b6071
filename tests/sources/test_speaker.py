"""The GE2E speaker encoder against Resemblyzer's own pipeline."""

import numpy as np
import pytest
import torch

from voice2series.sources import get_source
from voice2series.sources.speaker import SpeakerEncoderSource, partial_slices, resemblyzer_weights

try:
    resemblyzer_weights()
except (ImportError, FileNotFoundError) as error:  # pragma: no cover - depends on the machine
    pytest.skip(f"Resemblyzer 0.1.4 not installed: {error}", allow_module_level=True)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def voice_like(length, seed):
    """A modulated harmonic tone plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 16000
    f0 = rng.uniform(90, 250)
    voiced = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
    tremolo = 1 + 0.5 * np.sin(2 * np.pi * rng.uniform(2, 6) * t)
    return (0.1 * voiced * tremolo + 0.01 * rng.standard_normal(length)).astype(np.float32)


@pytest.fixture(scope="module")
def voice_encoder():
    resemblyzer = pytest.importorskip("resemblyzer")
    return resemblyzer.VoiceEncoder("cpu", verbose=False)


@pytest.mark.parametrize("length", [8000, 40000])  # padded to one partial; two partials
def test_matches_resemblyzer_embed_utterance(voice_encoder, length):
    source = SpeakerEncoderSource(input_length=length)
    waveforms = np.stack([voice_like(length, seed) for seed in range(2)])
    with torch.no_grad():
        ours = source(torch.from_numpy(waveforms)).numpy()
    for embedding, waveform in zip(ours, waveforms):
        reference = voice_encoder.embed_utterance(waveform)
        cosine = embedding @ reference / np.linalg.norm(embedding) / np.linalg.norm(reference)
        assert cosine >= 0.99


@pytest.mark.parametrize("length", [100, 8000, 25600, 40000, 80000])
def test_partials_follow_resemblyzer(length):
    resemblyzer = pytest.importorskip("resemblyzer")
    _, mel_slices = resemblyzer.VoiceEncoder.compute_partial_slices(length, 1.3, 0.75)
    assert partial_slices(length) == [s.start for s in mel_slices]


def test_frozen_and_gradients_reach_the_input():
    source = get_source("speaker-encoder", input_length=16000)
    assert not any(p.requires_grad for p in source.parameters())
    waveform = torch.from_numpy(np.stack([voice_like(16000, 1), voice_like(16000, 2)]))
    waveform.requires_grad_(True)
    embedding = source(waveform)
    assert embedding.shape == (2, 256)
    torch.testing.assert_close(embedding.norm(dim=1), torch.ones(2))
    embedding[:, :8].sum().backward()
    assert torch.isfinite(waveform.grad).all() and torch.count_nonzero(waveform.grad) > 1000
