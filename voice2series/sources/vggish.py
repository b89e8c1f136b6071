"""VGGish (AudioSet) as a source; weights from a file, the cache, or the published URL."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

from .base import AcousticSource

__all__ = ["VGGishSource", "vggish_cache_path", "download_vggish"]

# torchvggish's port of the TensorFlow AudioSet checkpoint. torch.hub names files
# "<name>-<first 8 hex digits of the sha256>.<ext>"; the download is checked against it.
WEIGHTS_URL = "https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth"
SHA256_PREFIX = "10086976"
DOWNLOAD_TIMEOUT_S = 10.0

_SAMPLE_RATE = 16000
_WINDOW, _HOP, _N_FFT = 400, 160, 512  # 25 ms, 10 ms, next power of two
_N_MELS, _MEL_LOW_HZ, _MEL_HIGH_HZ = 64, 125.0, 7500.0
_EXAMPLE_FRAMES = 96  # 0.96 s per example
_LOG_OFFSET = 0.01
# features.<i> of torchvggish's Sequential: conv layers at these indices.
_CONV_INDICES = (0, 3, 6, 8, 11, 13)


def vggish_cache_path():
    """Where the downloaded checkpoint lives: torch.hub's checkpoint directory."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(WEIGHTS_URL).name


def _how_to_supply():
    return (
        f"Download {WEIGHTS_URL} on a machine with internet access and either pass "
        f"VGGishSource(weights='/path/to/{Path(WEIGHTS_URL).name}') or copy it to "
        f"{vggish_cache_path()}."
    )


def locate_vggish_weights():
    """The cached checkpoint, or FileNotFoundError saying how to supply it (no network)."""
    path = vggish_cache_path()
    if not path.is_file():
        raise FileNotFoundError(f"VGGish weights are not cached. {_how_to_supply()}")
    return path


def download_vggish(url=None, timeout=None):
    """Download the published checkpoint into the cache and check its sha256.

    Parameters
    ----------
    url : str, optional
        Defaults to ``WEIGHTS_URL``.
    timeout : float, optional
        Seconds to wait for the server; defaults to ``DOWNLOAD_TIMEOUT_S``.

    Returns
    -------
    pathlib.Path
        The cached file.
    """
    url = WEIGHTS_URL if url is None else url
    timeout = DOWNLOAD_TIMEOUT_S if timeout is None else timeout
    target = vggish_cache_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    # Download next to the target, then rename: an interrupted download never
    # looks like a cached checkpoint.
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    partial.write(chunk)
        except OSError as error:
            partial.close()
            os.unlink(partial.name)
            raise OSError(f"Could not download VGGish weights ({error}). {_how_to_supply()}") from error
    if not digest.hexdigest().startswith(SHA256_PREFIX):
        os.unlink(partial.name)
        raise ValueError(
            f"The file downloaded from {url} has sha256 {digest.hexdigest()}, expected one "
            f"starting with {SHA256_PREFIX}; it was discarded. {_how_to_supply()}"
        )
    shutil.move(partial.name, target)
    return target


def _hz_to_mel(hz):
    return 1127.0 * torch.log1p(hz / 700.0)


def vggish_mel_matrix():
    """``(257, 64)`` mel weights of VGGish's ``mel_features.spectrogram_to_mel_matrix``.

    Triangles are linear in (HTK) mel, not in Hz, and the DC bin gets no
    weight: this differs slightly from ``torchaudio.functional.melscale_fbanks``.
    """
    bins_mel = _hz_to_mel(torch.linspace(0.0, _SAMPLE_RATE / 2, _N_FFT // 2 + 1, dtype=torch.float64))
    edges = torch.linspace(
        _hz_to_mel(torch.tensor(_MEL_LOW_HZ, dtype=torch.float64)).item(),
        _hz_to_mel(torch.tensor(_MEL_HIGH_HZ, dtype=torch.float64)).item(),
        _N_MELS + 2,
        dtype=torch.float64,
    )
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights[0] = 0.0
    return weights.float()


class VGGishSource(AcousticSource):
    """VGGish (Hershey et al., ICASSP 2017), the AudioSet embedding network.

    Front end as in the reference ``vggish_input``: 25 ms periodic-Hann
    windows every 10 ms, 512-point magnitude spectrum (torchaudio), 64 mel
    bands from 125 to 7500 Hz, ``log(mel + 0.01)``, non-overlapping examples
    of 96 frames. Network: four VGG conv blocks and three fully connected
    layers to a 128-d embedding; PCA whitening and 8-bit quantisation are not
    applied. Example embeddings are averaged.

    The weights are torchvggish's port of the TensorFlow checkpoint, looked
    up in this order: the ``weights`` file, the torch.hub cache
    (:func:`vggish_cache_path`), then a download from ``WEIGHTS_URL``
    (verified by sha256; ``download=False`` or no network fails within
    seconds with instructions).

    Parameters
    ----------
    input_length : int, default=15600
        Samples per waveform at 16 kHz; 15600 gives exactly one 96-frame example.
    weights : str or path, optional
        A checkpoint in torchvggish's layout (``features.*``, ``embeddings.*``).
    download : bool, default=True
        Whether to try the published URL when no file is found.
    final_relu : bool, default=False
        Apply ReLU to the embedding as torchvggish does; the current
        TensorFlow VGGish leaves the embedding layer linear, which keeps
        gradients for every output.
    """

    name = "vggish"
    sample_rate = _SAMPLE_RATE
    n_outputs = 128

    def __init__(self, input_length=15600, weights=None, download=True, final_relu=False):
        super().__init__()
        minimum = _WINDOW + (_EXAMPLE_FRAMES - 1) * _HOP
        if int(input_length) < minimum:
            raise ValueError(
                f"VGGish needs input_length >= {minimum} samples (one 96-frame example), got {input_length}."
            )
        self.input_length = int(input_length)
        self.weights = None if weights is None else str(weights)
        self.download = bool(download)
        self.final_relu = bool(final_relu)
        # torch.stft centres a 400-sample window in each 512-sample frame; the
        # waveform is shifted by 56 samples so frames start where VGGish's do.
        self.spectrogram = torchaudio.transforms.Spectrogram(
            n_fft=_N_FFT,
            win_length=_WINDOW,
            hop_length=_HOP,
            center=False,
            power=1.0,
            window_fn=torch.hann_window,
        )
        self.register_buffer("mel_matrix", vggish_mel_matrix())
        self.features = self._features()
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096),
            nn.ReLU(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, 128),
        )
        self._load(self._find_weights())
        self.freeze()

    @staticmethod
    def _features():
        layers, channels = [], 1
        for width in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M"):
            if width == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
                channels = width
        return nn.Sequential(*layers)

    def spec(self):
        # A user-supplied file is part of the spec so an unpickled model finds it again.
        return {
            "name": self.name,
            "input_length": self.input_length,
            "weights": self.weights,
            "download": self.download,
            "final_relu": self.final_relu,
        }

    def _find_weights(self):
        if self.weights is not None:
            if not Path(self.weights).is_file():
                raise FileNotFoundError(f"VGGish weights file {self.weights} does not exist.")
            return Path(self.weights)
        if vggish_cache_path().is_file():
            return vggish_cache_path()
        if not self.download:
            raise FileNotFoundError(f"VGGish weights are not cached. {_how_to_supply()}")
        return download_vggish()

    def _load(self, path):
        state = torch.load(path, map_location="cpu", weights_only=True)
        expected = {f"features.{i}.{p}" for i in _CONV_INDICES for p in ("weight", "bias")}
        expected |= {f"embeddings.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}
        if not isinstance(state, dict) or not expected <= set(state):
            missing = sorted(expected - set(state)) if isinstance(state, dict) else "everything"
            raise ValueError(
                f"{path} is not a VGGish checkpoint in torchvggish's layout; missing {missing}. {_how_to_supply()}"
            )
        try:
            self.load_state_dict({k: state[k] for k in expected}, strict=False)
        except RuntimeError as error:
            raise ValueError(f"{path} has VGGish keys but wrong shapes: {error}") from error

    def examples(self, waveform):
        """``(batch, samples)`` → ``(batch, n_examples, 96, 64)`` log-mel examples."""
        shift = (_N_FFT - _WINDOW) // 2
        magnitude = self.spectrogram(F.pad(waveform, (shift, shift)))  # (batch, 257, frames)
        log_mel = torch.log(magnitude.transpose(1, 2) @ self.mel_matrix + _LOG_OFFSET)
        n_examples = log_mel.shape[1] // _EXAMPLE_FRAMES
        return log_mel[:, : n_examples * _EXAMPLE_FRAMES].unflatten(1, (n_examples, _EXAMPLE_FRAMES))

    def embed_examples(self, examples):
        """``(n, 96, 64)`` → ``(n, 128)`` embeddings (before PCA)."""
        x = self.features(examples[:, None])  # (n, 512, 6, 4)
        # torchvggish flattens channels-last, as the TensorFlow graph did.
        x = self.embeddings(x.permute(0, 2, 3, 1).flatten(1))
        return F.relu(x) if self.final_relu else x

    def forward(self, waveform):
        examples = self.examples(waveform)
        batch, n_examples = examples.shape[:2]
        embeddings = self.embed_examples(examples.flatten(0, 1))
        return embeddings.reshape(batch, n_examples, self.n_outputs).mean(dim=1)
