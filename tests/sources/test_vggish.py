"""VGGish (sources/vggish.py): checkpoint layout, weight lookup and download paths,
and torchvggish equivalence."""

import hashlib
import urllib.parse

import numpy as np
import pytest
import torch

from voice2series.sources import available, get_source, vggish
from voice2series.sources.vggish import VGGishSource, download_vggish, vggish_cache_path

# The published torchvggish checkpoint (vggish-10086976.pth): parameter shapes by key.
PUBLISHED_LAYOUT = {
    "features.0": (64, 1, 3, 3),
    "features.3": (128, 64, 3, 3),
    "features.6": (256, 128, 3, 3),
    "features.8": (256, 256, 3, 3),
    "features.11": (512, 256, 3, 3),
    "features.13": (512, 512, 3, 3),
    "embeddings.0": (4096, 512 * 4 * 6),
    "embeddings.2": (4096, 4096),
    "embeddings.4": (128, 4096),
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A random state dict in the published layout, saved as a file."""
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in PUBLISHED_LAYOUT.items():
        fan_in = int(np.prod(shape[1:]))
        state[f"{key}.weight"] = torch.randn(shape, generator=generator) * (2 / fan_in) ** 0.5
        state[f"{key}.bias"] = torch.randn(shape[0], generator=generator) * 0.01
    path = tmp_path_factory.mktemp("vggish") / "vggish-test.pth"
    torch.save(state, path)
    return path


def audio_like(length, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 16000
    tones = sum(rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * rng.uniform(100, 6000) * t) for _ in range(4))
    return (tones + 0.02 * rng.standard_normal(length)).astype(np.float32)


def test_loads_a_user_file_and_matches_the_published_parameter_count(checkpoint, empty_hub):
    source = VGGishSource(weights=checkpoint)
    assert sum(p.numel() for p in source.parameters()) == available().loc["vggish", "n_parameters"]
    assert not any(p.requires_grad for p in source.parameters())
    waveform = torch.from_numpy(np.stack([audio_like(15600, 0), audio_like(15600, 1)])).requires_grad_(True)
    embedding = source(waveform)
    assert embedding.shape == (2, 128)
    embedding.sum().backward()
    assert torch.isfinite(waveform.grad).all() and torch.count_nonzero(waveform.grad) > 1000


def test_loads_from_the_cache_and_shows_offline(checkpoint, empty_hub):
    assert not available().loc["vggish", "offline"]
    vggish_cache_path().parent.mkdir(parents=True)
    vggish_cache_path().symlink_to(checkpoint)
    assert available().loc["vggish", "offline"]
    assert get_source("vggish", download=False).n_outputs == 128


def test_offline_fails_within_seconds_and_says_how_to_supply_the_file(empty_hub, monkeypatch, connections):
    monkeypatch.setattr(vggish, "WEIGHTS_URL", "http://127.0.0.1:9/vggish-10086976.pth")
    with pytest.raises(OSError, match="weights="):
        VGGishSource()
    # "Within seconds" means one refused connection and no retries, with a bounded
    # wait had the server been silent; counted here, not timed.
    assert connections.attempts == [(("127.0.0.1", 9), vggish.DOWNLOAD_TIMEOUT_S)]
    assert not any(vggish_cache_path().parent.glob("*"))  # no partial download left behind
    with pytest.raises(FileNotFoundError, match="copy it to"):
        VGGishSource(download=False)


def test_download_fails_fast_when_the_network_drops_packets(empty_hub, monkeypatch, silent_network):
    # README: "Offline it fails within seconds": no download waits longer than this for the server.
    assert 0 < vggish.DOWNLOAD_TIMEOUT_S <= 10
    monkeypatch.setattr(vggish, "DOWNLOAD_TIMEOUT_S", 1.0)
    with pytest.raises(OSError) as caught:
        VGGishSource()
    message = str(caught.value)
    assert message.startswith("Could not download VGGish weights (") and "timed out" in message
    assert "copy it to" in message and "weights=" in message
    # One connection, to the published file's host, bounded by the documented timeout.
    host = urllib.parse.urlsplit(vggish.WEIGHTS_URL).hostname
    assert silent_network.attempts == [((host, 443), 1.0)]
    assert len(silent_network.server.accepted) == 1
    assert not any(vggish_cache_path().parent.glob("*"))  # no partial download left behind


def test_download_checks_the_sha256_prefix(empty_hub, tmp_path, monkeypatch):
    payload = tmp_path / "payload.bin"
    payload.write_bytes(b"not really weights" * 1000)
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    monkeypatch.setattr(vggish, "SHA256_PREFIX", "00000000" if digest[:8] != "00000000" else "11111111")
    with pytest.raises(ValueError, match="discarded"):
        download_vggish(payload.as_uri())
    assert not vggish_cache_path().exists()
    monkeypatch.setattr(vggish, "SHA256_PREFIX", digest[:8])
    assert download_vggish(payload.as_uri()).read_bytes() == payload.read_bytes()


def test_rejects_a_checkpoint_in_another_layout(tmp_path, empty_hub):
    path = tmp_path / "other.pth"
    torch.save({"conv1.weight": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="torchvggish's layout"):
        VGGishSource(weights=path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        VGGishSource(weights=tmp_path / "missing.pth")


def test_front_end_and_network_match_torchvggish(checkpoint, empty_hub):
    pytest.importorskip("torchvggish")
    from torchvggish import torchvggish as reference_module
    from torchvggish.vggish_input import waveform_to_examples

    waveform = audio_like(2 * 15600 + 3000, 5)  # two examples and a remainder
    reference_examples = waveform_to_examples(waveform, 16000, return_tensor=False)
    source = VGGishSource(input_length=len(waveform), weights=checkpoint, final_relu=True)
    with torch.no_grad():
        ours = source.examples(torch.from_numpy(waveform)[None])[0].numpy()
    assert ours.shape == reference_examples.shape == (2, 96, 64)
    np.testing.assert_allclose(ours, reference_examples, atol=2e-4, rtol=0)

    reference = reference_module.VGG(reference_module.make_layers(), postprocess=False)
    reference.load_state_dict(torch.load(checkpoint, weights_only=True))
    with torch.no_grad():
        expected = reference.eval()(torch.from_numpy(reference_examples).float()[:, None]).mean(0)
        pooled = source(torch.from_numpy(waveform)[None])[0]
    torch.testing.assert_close(pooled, expected, atol=1e-4, rtol=1e-4)
