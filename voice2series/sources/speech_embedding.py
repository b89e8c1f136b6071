"""Google's speech-embedding model, from the ONNX files shipped in openwakeword 0.5.1."""

from __future__ import annotations

import importlib.util

import torch
import torch.nn.functional as F
from torch import nn

from .base import AcousticSource, package_file

__all__ = ["SpeechEmbeddingSource", "locate_speech_embedding"]

_INSTALL = "pip install --no-deps openwakeword==0.5.1 (0.6.0 no longer ships the ONNX files)"
# (kernel height, kernel width) of the 20 embedding convolutions; max pooling follows
# the layers named in _POOL_AFTER. Read off the ONNX graph.
_KERNELS = [(3, 3)] + [(1, 3), (3, 1)] * 9 + [(3, 1)]
_POOL_AFTER = {2: (2, 2), 6: (1, 2), 10: (2, 2), 14: (1, 2), 18: (2, 2)}


def openwakeword_model(name):
    """Path of ``melspectrogram.onnx`` or ``embedding_model.onnx`` in openwakeword."""
    return package_file("openwakeword", f"resources/models/{name}.onnx", _INSTALL)


def locate_speech_embedding():
    """Both ONNX files, after checking that ``onnx`` (which reads them) is installed."""
    if importlib.util.find_spec("onnx") is None:
        raise ImportError("The speech-embedding source reads ONNX files with 'onnx': pip install onnx")
    return [openwakeword_model("melspectrogram"), openwakeword_model("embedding_model")]


def _initializers(path):
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as error:
        raise ImportError("The speech-embedding source reads ONNX files with 'onnx': pip install onnx") from error

    graph = onnx.load(str(path)).graph
    return {item.name: torch.from_numpy(numpy_helper.to_array(item).copy()) for item in graph.initializer}


class SpeechEmbeddingSource(AcousticSource):
    """Google's speech-embedding (keyword spotting) model as a frozen source.

    A native torch port of openwakeword 0.5.1's two ONNX graphs, with the
    weights read from their initializers: a 32-bin log-mel front end (STFT as
    512-tap convolutions, hop 160 at 16 kHz) and a 19-layer CNN that maps 76
    mel frames to a 96-d embedding. The waveform is scaled to 16-bit PCM
    range; the log-mel is floored 80 dB below *each sample's* own maximum
    (the ONNX graph takes that maximum over the whole batch, which makes one
    series' features depend on the others) and transformed by
    ``x / 10 + 2`` as openwakeword does. Mel frames are cut into windows of 76
    frames every 8 frames and the window embeddings averaged.

    Parameters
    ----------
    input_length : int, default=16000
        Samples per waveform (16 kHz); at least 12512 (one 76-frame window).
    input_scale : float, default=32768.0
        Factor from the input waveform to 16-bit PCM values: the default
        treats inputs as float audio in [-1, 1].

    Examples
    --------
    >>> import torch
    >>> from voice2series.sources import get_source
    >>> source = get_source("speech-embedding")  # doctest: +SKIP
    >>> source(torch.zeros(2, 16000)).shape  # doctest: +SKIP
    torch.Size([2, 96])
    """

    name = "speech-embedding"
    sample_rate = 16000
    n_outputs = 96
    n_fft = 512
    hop_length = 160
    window_frames = 76
    window_step = 8
    top_db = 80.0

    def __init__(self, input_length=16000, input_scale=32768.0):
        super().__init__()
        minimum = self.n_fft + (self.window_frames - 1) * self.hop_length
        if int(input_length) < minimum:
            raise ValueError(
                f"The speech-embedding source needs input_length >= {minimum} samples "
                f"(one {self.window_frames}-frame window), got {input_length}."
            )
        if not input_scale > 0:
            raise ValueError(f"input_scale must be positive, got {input_scale!r}.")
        self.input_length = int(input_length)
        self.input_scale = float(input_scale)
        self.register_buffer("stft_real", torch.zeros(257, 1, self.n_fft))
        self.register_buffer("stft_imag", torch.zeros(257, 1, self.n_fft))
        self.register_buffer("mel_matrix", torch.zeros(257, 32))
        channels = [1] + [24] * 3 + [48] * 4 + [72] * 4 + [96] * 9
        self.convs = nn.ModuleList(
            nn.Conv2d(c_in, c_out, kernel, bias=index < 19)
            for index, (c_in, c_out, kernel) in enumerate(zip(channels[:-1], channels[1:], _KERNELS))
        )
        self._load_onnx_weights()
        self.freeze()

    def spec(self):
        return {"name": self.name, "input_length": self.input_length, "input_scale": self.input_scale}

    @torch.no_grad()
    def _load_onnx_weights(self):
        mel = _initializers(openwakeword_model("melspectrogram"))
        self.stft_real.copy_(mel["0.stft.conv_real.weight"])
        self.stft_imag.copy_(mel["0.stft.conv_imag.weight"])
        self.mel_matrix.copy_(mel["1.melW"])
        weights = _initializers(openwakeword_model("embedding_model"))
        for index, conv in enumerate(self.convs):
            # ONNX names the layers conv2d, conv2d_1, ..., conv2d_19; batch norm is fused
            # into all but the last, which has no bias.
            prefix = "model/conv2d" + ("" if index == 0 else f"_{index}")
            if index == 19:
                conv.weight.copy_(weights["model/conv2d_19/Conv2D/ReadVariableOp:0"])
            else:
                conv.weight.copy_(weights[f"{prefix}/Conv2D_weights_fused_bn"])
                conv.bias.copy_(weights[f"{prefix}/Conv2D_bias_fused_bn"])

    def log_mel(self, waveform):
        """``(batch, samples)`` → ``(batch, frames, 32)`` features as openwakeword feeds them."""
        x = (waveform * self.input_scale)[:, None, :]
        power = F.conv1d(x, self.stft_real, stride=self.hop_length) ** 2
        power = power + F.conv1d(x, self.stft_imag, stride=self.hop_length) ** 2
        mel = power.transpose(1, 2) @ self.mel_matrix
        decibels = 10.0 * torch.log10(mel.clamp_min(1e-10))
        # Per-sample top-dB floor (the ONNX graph's floor couples the batch).
        floor = decibels.amax(dim=(1, 2), keepdim=True) - self.top_db
        return torch.maximum(decibels, floor) / 10.0 + 2.0

    def windows(self, features):
        """``(batch, frames, 32)`` → ``(batch, n_windows, 76, 32)``."""
        return features.unfold(1, self.window_frames, self.window_step).transpose(2, 3)

    def embed_windows(self, windows):
        """``(n, 76, 32)`` mel windows → ``(n, 96)`` embeddings."""
        x = windows[:, None]
        for index, conv in enumerate(self.convs):
            if conv.kernel_size[1] == 3:
                x = F.pad(x, (1, 1))  # 'same' along mel bins, 'valid' along time
            x = conv(x)
            if index == 19:
                break
            # LeakyReLU(0.2) then max(., -0.4): the graph's fused activation.
            x = F.leaky_relu(x, 0.2).clamp_min(-0.4)
            if index in _POOL_AFTER:
                x = F.max_pool2d(x, _POOL_AFTER[index])
        return x.flatten(1)

    def forward(self, waveform):
        windows = self.windows(self.log_mel(waveform))
        batch, n_windows = windows.shape[:2]
        embeddings = self.embed_windows(windows.reshape(batch * n_windows, self.window_frames, 32))
        return embeddings.reshape(batch, n_windows, self.n_outputs).mean(dim=1)
