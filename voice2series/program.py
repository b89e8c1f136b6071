"""The input program: from a time series to a reprogrammed waveform.

A series of length ``L`` is (optionally) resampled, copied ``segments`` times
into a zero waveform of the source's input length ``N``, and a learnable
additive program ``delta`` is added where the series is *not*::

    waveform = place(x) + mask * dropout(delta)

``mask`` is 0 on every sample a series copy occupies and 1 elsewhere, so the
program never overwrites the series itself (Yang, Tsai & Chen, ICML 2021,
Eq. 1). With a sample-specific mask (Cai et al., ICML 2024) a small network
scales ``delta`` per series: ``place(x) + mask * m(place(x)) * dropout(delta)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio
from torch import nn

__all__ = [
    "INTERPOLATIONS",
    "PLACEMENTS",
    "PROGRAM_INITS",
    "RESAMPLE_RULES",
    "InputProgram",
    "SampleMaskNet",
    "glorot_uniform_bound",
    "prepare_series",
    "resample_series",
    "segment_offsets",
    "series_length_in_waveform",
]

PLACEMENTS = ("start", "centre")
INTERPOLATIONS = ("linear", "sinc")
RESAMPLE_RULES = ("fit", "auto")
PROGRAM_INITS = ("zeros", "glorot")


def glorot_uniform_bound(fan_in, fan_out=1):
    """Half-width ``sqrt(6 / (fan_in + fan_out))`` of Glorot-uniform initialisation.

    The official V2S code's program is a Keras weight of shape
    ``(16000, 1)``: fan-in 16000, fan-out 1, so ``sqrt(6 / 16001)``, about 0.0194.

    Examples
    --------
    >>> round(glorot_uniform_bound(16000), 5)
    0.01936
    """
    return float(np.sqrt(6.0 / (fan_in + fan_out)))


def series_length_in_waveform(n_timepoints, input_length, *, segments=1, n_channels=1, resample=None):
    """Length a series gets in the waveform: the one resample rule.

    Each of the ``segments * n_channels`` copies gets a segment of
    ``input_length // (segments * n_channels)`` samples.

    Parameters
    ----------
    n_timepoints : int
        Length of the training series.
    input_length : int
        Samples of the source's input waveform.
    segments, n_channels : int
        Copies of the series, and channels per copy.
    resample : None, "fit", "auto" or int
        ``None``: keep the length (the program refuses a series that does not
        fit); ``"fit"``: fill the segment; ``"auto"``: keep the length when it
        fits, fill the segment when it does not; an int: that length.

    Returns
    -------
    int

    Examples
    --------
    >>> series_length_in_waveform(1500, 1024, resample="auto")
    1024
    >>> series_length_in_waveform(300, 1024, segments=2, resample="auto")
    300
    >>> series_length_in_waveform(300, 1024, segments=2, n_channels=2, resample="auto")
    256
    """
    segment = input_length // (segments * n_channels)
    if resample is None or (resample == "auto" and n_timepoints <= segment):
        return int(n_timepoints)
    if resample in RESAMPLE_RULES:
        return int(segment)
    return int(resample)


def prepare_series(X, series_length, interpolation="linear", amplitude=1.0):
    """``(n, n_channels, n_timepoints)`` float array → resampled, scaled float32 tensor.

    Parameters
    ----------
    X : ndarray of shape (n_series, n_channels, n_timepoints)
    series_length : int
        Length in the waveform (:func:`series_length_in_waveform`).
    interpolation : {"linear", "sinc"}
    amplitude : float
        Factor on the values.

    Returns
    -------
    torch.Tensor of shape (n_series, n_channels, series_length)
    """
    n_series, n_channels, _ = X.shape
    series = torch.tensor(X.reshape(n_series * n_channels, -1), dtype=torch.float32)
    series = resample_series(series, series_length, interpolation) * amplitude
    return series.reshape(n_series, n_channels, series_length)


def resample_series(series, length, interpolation="linear"):
    """Resample each row of ``series`` to ``length`` time points.

    Parameters
    ----------
    series : torch.Tensor of shape (n_series, n_timepoints)
    length : int
        Target number of time points.
    interpolation : {"linear", "sinc"}
        ``"linear"`` keeps both end points exactly (``align_corners``);
        ``"sinc"`` is torchaudio's band-limited resampling, which low-pass
        filters when shrinking.

    Returns
    -------
    torch.Tensor of shape (n_series, length)
    """
    n_timepoints = series.shape[-1]
    if length == n_timepoints:
        return series.clone()
    if interpolation == "sinc":
        return torchaudio.functional.resample(series, n_timepoints, length)[..., :length]
    if n_timepoints == 1:
        return series.expand(-1, length).clone()
    return F.interpolate(series[:, None, :], size=length, mode="linear", align_corners=True)[:, 0]


def segment_offsets(input_length, series_length, segments=1, placement="start"):
    """First sample of each series copy in the waveform.

    The waveform is split into ``segments`` equal parts starting at sample 0
    (the paper's replication at identical intervals); each copy sits at the
    start or in the centre of its part.

    Returns
    -------
    list of int
    """
    segment_length = input_length // segments
    if series_length > segment_length:
        raise ValueError(
            f"A series of length {series_length} does not fit {segments} time(s) (segments x "
            f"channels) into the source input of {input_length} samples (at most "
            f"{segment_length} per copy). Pass resample='fit' (or a target length) to shrink "
            "it, use fewer segments, or a longer source input_length."
        )
    shift = 0 if placement == "start" else (segment_length - series_length) // 2
    return [k * segment_length + shift for k in range(segments)]


class SampleMaskNet(nn.Module):
    """Per-series mask for the program: sample-specific masks (SMM).

    Cai et al. (ICML 2024) let a small CNN look at each input and output a
    mask, computed per patch and upsampled, that scales the shared program.
    Here: three 1-D convolutions over the placed waveform (two with stride 4)
    give one value per ``patch`` = 16 samples; a sigmoid puts it in (0, 1)
    and each value is repeated over its patch.

    Parameters
    ----------
    channels : int, default=8
        Width of the hidden convolutions.
    """

    patch = 16

    def __init__(self, channels=8):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(1, channels, 9, stride=4, padding=4),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 9, stride=4, padding=4),
            nn.ReLU(),
            nn.Conv1d(channels, 1, 9, padding=4),
        )

    def forward(self, placed):
        """``(n, input_length)`` placed waveforms → ``(n, input_length)`` masks in (0, 1)."""
        coarse = torch.sigmoid(self.layers(placed[:, None, :]))
        mask = torch.repeat_interleave(coarse, self.patch, dim=-1)[..., : placed.shape[-1]]
        # Strides round the length down; the last patch covers the remainder.
        missing = placed.shape[-1] - mask.shape[-1]
        if missing > 0:
            mask = torch.cat([mask, mask[..., -1:].expand(-1, -1, missing)], dim=-1)
        return mask[:, 0]


class InputProgram(nn.Module):
    """Learnable additive program ``delta`` masked to leave the series intact.

    Parameters
    ----------
    input_length : int
        Waveform length ``N`` expected by the source.
    series_length : int
        Length of the (already resampled) series placed in the waveform.
    segments : int, default=1
        Number of copies of the series at identical intervals.
    placement : {"start", "centre"}, default="start"
        Where each copy sits inside its segment.
    dropout : float, default=0.0
        Dropout probability on ``delta`` during training.
    n_channels : int, default=1
        Channels of a multivariate series. Each channel gets its own segment:
        the waveform holds ``segments`` copies of the channel sequence
        ``[channel 0, channel 1, ...]``.
    sample_specific_mask : bool, default=False
        Scale ``delta`` per series by a :class:`SampleMaskNet` of the placed
        waveform (it never acts where the series sits).
    init : {"zeros", "glorot"}, default="zeros"
        ``delta``'s initial value: zero, or uniform in
        ``[-b, b]`` with ``b = glorot_uniform_bound(input_length)`` (the
        official V2S code's Keras ``glorot_uniform`` on a ``(N, 1)`` weight),
        drawn from torch's global generator.

    Attributes
    ----------
    delta : torch.nn.Parameter of shape (input_length,)
        The learned program, initialised as ``init`` says.
    mask : torch.Tensor of shape (input_length,)
        1 where the program acts, 0 where a series copy sits.
    offsets : list of int
        First sample of each series copy.
    mask_net : SampleMaskNet or None
        The sample-specific mask network, when asked for.
    """

    def __init__(
        self,
        input_length,
        series_length,
        segments=1,
        placement="start",
        dropout=0.0,
        n_channels=1,
        sample_specific_mask=False,
        init="zeros",
    ):
        super().__init__()
        if init not in PROGRAM_INITS:
            raise ValueError(f"init must be one of {PROGRAM_INITS}, got {init!r}.")
        self.input_length = int(input_length)
        self.series_length = int(series_length)
        self.n_channels = int(n_channels)
        self.offsets = segment_offsets(
            self.input_length, self.series_length, segments * self.n_channels, placement
        )
        mask = torch.ones(self.input_length)
        for offset in self.offsets:
            mask[offset : offset + self.series_length] = 0.0
        self.register_buffer("mask", mask)
        self.delta = nn.Parameter(torch.zeros(self.input_length))
        if init == "glorot":
            bound = glorot_uniform_bound(self.input_length)
            with torch.no_grad():
                self.delta.uniform_(-bound, bound)
        self.dropout = nn.Dropout(dropout)
        self.mask_net = SampleMaskNet() if sample_specific_mask else None

    def place(self, series):
        """Zero-padded waveforms holding the series copies, ``(n, input_length)``.

        ``series`` is ``(n, series_length)`` or ``(n, n_channels, series_length)``.
        """
        channels = series[:, None, :] if series.ndim == 2 else series
        waveform = series.new_zeros(series.shape[0], self.input_length)
        for index, offset in enumerate(self.offsets):
            waveform[:, offset : offset + self.series_length] = channels[:, index % self.n_channels]
        return waveform

    def forward(self, placed):
        """Add the masked program to waveforms made by :meth:`place`."""
        return placed + self.sample_mask(placed) * self.dropout(self.delta)

    def sample_mask(self, placed):
        """Where and how strongly the program acts on each waveform.

        ``mask`` (``(input_length,)``, 0 on the series) without a
        sample-specific mask; ``mask * mask_net(placed)``, ``(n, input_length)``,
        with one.
        """
        if self.mask_net is None:
            return self.mask
        return self.mask * self.mask_net(placed)

    def program(self):
        """The program as it acts on the waveform: ``mask * delta`` (numpy)."""
        return (self.mask * self.delta).detach().cpu().numpy().astype(np.float64)
