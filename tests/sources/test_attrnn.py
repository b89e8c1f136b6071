"""The paper's AttRNN (sources/attrnn.py): pretraining loop on a synthetic keyword set,
loading, and downloads that fail fast offline."""

import urllib.parse

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from voice2series import V2SClassifier
from voice2series.sources import attrnn, available, get_source
from voice2series.sources.attrnn import AttRNNSource, pretrain

LENGTH = 4000  # 0.25 s clips keep the test fast
WORDS = {"low": 300.0, "mid": 1200.0, "high": 4000.0}


@pytest.fixture(scope="module")
def keyword_folder(tmp_path_factory):
    """Speech Commands layout: one folder of 16-bit WAV clips per 'keyword' (a tone)."""
    root = tmp_path_factory.mktemp("speech_commands")
    rng = np.random.default_rng(0)
    t = np.arange(LENGTH) / 16000
    for word, frequency in WORDS.items():
        (root / word).mkdir()
        for i in range(16):
            tone = 0.5 * np.sin(2 * np.pi * frequency * rng.uniform(0.95, 1.05) * t)
            clip = tone + 0.05 * rng.standard_normal(LENGTH)
            wavfile.write(root / word / f"clip{i}.wav", 16000, (clip * 32767).astype(np.int16))
    (root / "_background_noise_").mkdir()  # ignored, as in the real dataset
    return root


@pytest.fixture(scope="module")
def trained(keyword_folder, tmp_path_factory):
    output = tmp_path_factory.mktemp("ckpt") / "attrnn.pt"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # LSTM steps stall at OpenMP barriers on a loaded machine
    try:
        result = pretrain(
            keyword_folder, output=output, epochs=8, batch_size=8, learning_rate=3e-3,
            input_length=LENGTH, verbose=False,
        )
    finally:
        torch.set_num_threads(threads)
    return result


def test_pretrain_learns_and_saves_a_loadable_checkpoint(trained):
    history = trained["history"]
    assert trained["classes"] == sorted(WORDS)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert trained["best_val_accuracy"] > 1 / 3  # above chance on held-out clips
    source = AttRNNSource(checkpoint=trained["checkpoint"])
    assert (source.n_outputs, source.input_length, source.classes) == (3, LENGTH, sorted(WORDS))


def test_checkpoint_works_as_a_frozen_source(trained, small_xy, one_torch_thread):
    source = get_source("attrnn", checkpoint=trained["checkpoint"])
    assert not any(p.requires_grad for p in source.parameters())
    waveform = torch.randn(2, LENGTH, requires_grad=True)
    source(waveform).sum().backward()
    assert torch.count_nonzero(waveform.grad) > 100
    X, y = small_xy
    clf = V2SClassifier(source, max_epochs=2, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (24,)


def test_without_a_checkpoint_it_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path))
    assert not available().loc["attrnn", "offline"]
    with pytest.raises(FileNotFoundError, match="cli.py pretrain"):
        get_source("attrnn")
    not_ours = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, not_ours)
    with pytest.raises(ValueError, match="not written by"):
        AttRNNSource(checkpoint=not_ours)


def test_download_fails_fast_offline(tmp_path, monkeypatch, connections):
    monkeypatch.setattr(attrnn, "SPEECH_COMMANDS_URL", "http://127.0.0.1:9/speech_commands_v0.02.tar.gz")
    with pytest.raises(OSError, match="pass its folder"):
        pretrain(tmp_path, download=True)
    # Fast means one refused connection and no retries, with a bounded wait had the
    # server been silent; counted here, not timed.
    assert connections.attempts == [(("127.0.0.1", 9), attrnn.REACHABILITY_TIMEOUT_S)]
    assert not any(tmp_path.iterdir())  # nothing downloaded, nothing half-written


def test_download_fails_fast_when_the_network_drops_packets(tmp_path, monkeypatch, silent_network):
    # README: "offline it fails within seconds": the reachability check waits this long at most.
    assert 0 < attrnn.REACHABILITY_TIMEOUT_S <= 10
    monkeypatch.setattr(attrnn, "REACHABILITY_TIMEOUT_S", 1.0)
    with pytest.raises(OSError) as caught:
        pretrain(tmp_path, download=True)
    message = str(caught.value)
    assert message.startswith(f"Cannot reach {attrnn.SPEECH_COMMANDS_URL} (timed out)")
    assert "pass its folder" in message
    # One connection, to the dataset's host, bounded by the documented timeout.
    host = urllib.parse.urlsplit(attrnn.SPEECH_COMMANDS_URL).hostname
    assert silent_network.attempts == [((host, 80), 1.0)]
    assert len(silent_network.server.accepted) == 1


def test_bad_folders_are_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        pretrain(tmp_path / "missing")
    (tmp_path / "only").mkdir()
    with pytest.raises(ValueError, match="at least two keyword folders"):
        pretrain(tmp_path)
