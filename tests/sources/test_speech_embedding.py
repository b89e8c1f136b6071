"""The speech-embedding port against openwakeword's ONNX graphs run by onnxruntime."""

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from voice2series.sources import get_source  # noqa: E402
from voice2series.sources.speech_embedding import SpeechEmbeddingSource, openwakeword_model  # noqa: E402

try:
    openwakeword_model("embedding_model")
except (ImportError, FileNotFoundError) as error:  # pragma: no cover - depends on the machine
    pytest.skip(f"openwakeword 0.5.1 not installed: {error}", allow_module_level=True)


@pytest.fixture(scope="module")
def sessions():
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return [
        ort.InferenceSession(str(openwakeword_model(name)), options, providers=["CPUExecutionProvider"])
        for name in ("melspectrogram", "embedding_model")
    ]


def onnx_reference(sessions, waveform):
    """openwakeword's own recipe (utils.AudioFeatures._get_embeddings), one waveform at a time."""
    mel, embedding = sessions
    features = mel.run(None, {"input": (waveform * 32768).astype(np.float32)[None]})[0][0, 0] / 10 + 2
    windows = [features[i : i + 76] for i in range(0, len(features) - 75, 8)]
    window_embeddings = embedding.run(None, {"input_1": np.stack(windows)[..., None]})[0]
    return window_embeddings.reshape(-1, 96).mean(axis=0)


def audio_like(length, seed):
    """Sums of sines with a decaying envelope plus noise: speech-level amplitudes."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 16000
    tones = sum(rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * rng.uniform(80, 4000) * t) for _ in range(4))
    envelope = np.exp(-t * rng.uniform(0.5, 3))
    return (tones * envelope + rng.uniform(0.001, 0.05) * rng.standard_normal(length)).astype(np.float32)


@pytest.mark.parametrize("length", [12512, 16000, 21000])
def test_matches_onnxruntime_one_sample_at_a_time(sessions, length):
    source = SpeechEmbeddingSource(input_length=length)
    batch = np.stack([audio_like(length, seed) for seed in range(3)])
    batch[2, length // 2 :] = 0  # digital silence: exercises the top-dB floor
    with torch.no_grad():
        ours = source(torch.from_numpy(batch)).numpy()
    reference = np.stack([onnx_reference(sessions, waveform) for waveform in batch])
    np.testing.assert_allclose(ours, reference, atol=1e-3, rtol=0)
    assert np.abs(reference).max() > 1  # not a trivially small comparison


def test_a_loud_neighbour_in_the_batch_changes_nothing():
    source = get_source("speech-embedding")
    quiet = torch.from_numpy(audio_like(16000, 7)) * 0.01
    quiet[8000:] = 0
    loud = torch.from_numpy(audio_like(16000, 8)) * 3
    with torch.no_grad():
        alone = source(quiet[None])
        together = source(torch.stack([quiet, loud]))[:1]
    torch.testing.assert_close(alone, together, atol=1e-5, rtol=1e-5)


def test_frozen_and_gradients_reach_the_input():
    source = get_source("speech-embedding")
    assert not any(p.requires_grad for p in source.parameters())
    waveform = torch.from_numpy(audio_like(16000, 3))[None].repeat(2, 1).requires_grad_(True)
    embedding = source(waveform)
    assert embedding.shape == (2, 96)
    embedding.square().sum().backward()
    assert torch.isfinite(waveform.grad).all() and torch.count_nonzero(waveform.grad) > 1000


def test_refuses_inputs_shorter_than_one_window():
    with pytest.raises(ValueError, match="input_length >= 12512"):
        SpeechEmbeddingSource(input_length=12000)


def test_missing_onnx_package_is_reported(monkeypatch):
    import importlib.util

    from voice2series.sources import available

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real_find_spec(name, *a)
    )
    row = available().loc["speech-embedding"]
    assert not row.offline and "pip install onnx" in row.how_to_get
