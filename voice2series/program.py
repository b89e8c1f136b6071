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
    "MAX_SERIES_SHARE",
    "MIN_PROGRAM_SHARE",
    "PLACEMENTS",
    "PROGRAM_INITS",
    "RESAMPLE_RULES",
    "VIEWS",
    "InputProgram",
    "SampleMaskNet",
    "glorot_uniform_bound",
    "n_program_values",
    "prepare_series",
    "resample_series",
    "segment_offsets",
    "series_length_in_waveform",
    "series_view",
    "window_layout",
    "window_starts",
]

PLACEMENTS = ("start", "centre")
INTERPOLATIONS = ("linear", "sinc")
RESAMPLE_RULES = ("fit", "auto", "windows")
PROGRAM_INITS = ("zeros", "glorot")
# What a program places of each series: the series, or its first difference.
VIEWS = ("series", "diff")
# Floor on a difference's standard deviation, so a constant series stays zero instead of dividing by 0.
_DIFF_STD_FLOOR = 1e-8


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


# A series never takes more than this share of its segment when it is
# resampled ("fit", or "auto" for a series that does not fit): the rest is
# the program's. Before round 2, "fit" filled the whole segment, which left
# the program no sample to act on (mask all zero).
MAX_SERIES_SHARE = 0.5
# The least share of the waveform any configuration must leave to the
# program; an explicit length (or resample=None) that leaves less is refused.
MIN_PROGRAM_SHARE = 0.25
# resample="windows": neighbouring windows start half a window apart, so each
# sample but the ends is read in two windows (rounds 2-12).
HALF_WINDOW_HOP = 0.5


def n_program_values(input_length, knot_spacing=1):
    """Learnable values of a program over ``input_length`` samples with knots every ``knot_spacing``.

    Examples
    --------
    >>> n_program_values(1024), n_program_values(1024, 32)
    (1024, 33)
    """
    return -(-(int(input_length) - 1) // int(knot_spacing)) + 1


def series_length_in_waveform(n_timepoints, input_length, *, segments=1, n_channels=1, resample=None):
    """Length a series gets in the waveform: the one resample rule.

    Each of the ``k = segments * n_channels`` copies gets a segment of
    ``input_length // k`` samples. A resampled series takes at most
    ``MAX_SERIES_SHARE`` (half) of its segment, so the program always keeps
    at least half of the waveform; a length that leaves the program less
    than ``MIN_PROGRAM_SHARE`` (a quarter) of the waveform is refused.

    Parameters
    ----------
    n_timepoints : int
        Length of the training series.
    input_length : int
        Samples of the source's input waveform.
    segments, n_channels : int
        Copies of the series, and channels per copy.
    resample : None, "fit", "auto" or int
        ``None``: keep the length; ``"fit"``: stretch or shrink to half the
        segment (``floor(MAX_SERIES_SHARE * segment)``; until round 2 "fit"
        filled the whole segment); ``"auto"``: keep the length when it is at
        most half the segment, shrink it to half the segment when it is
        longer; an int: that length.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        When the series copies would leave the program less than
        ``MIN_PROGRAM_SHARE`` of the waveform.

    Examples
    --------
    >>> series_length_in_waveform(1500, 1024, resample="auto")
    512
    >>> series_length_in_waveform(300, 1024, resample="auto")
    300
    >>> series_length_in_waveform(300, 1024, segments=2, resample="auto")
    256
    >>> series_length_in_waveform(24, 1024, resample="fit")
    512
    """
    copies = segments * n_channels
    segment = input_length // copies
    longest = max(int(MAX_SERIES_SHARE * segment), 1)
    if resample == "windows":
        raise ValueError(
            "resample='windows' keeps the series' own resolution and spreads it over several source "
            "frames; its layout comes from window_layout(), not from one length per segment."
        )
    if resample in RESAMPLE_RULES:
        length = longest if resample == "fit" or n_timepoints > longest else int(n_timepoints)
    else:
        length = int(n_timepoints if resample is None else resample)
    share = 1.0 - copies * length / input_length
    if length <= segment and share < MIN_PROGRAM_SHARE:
        given = "resample=None (the series as it is)" if resample is None else f"resample={resample!r}"
        raise ValueError(
            f"{given} puts {copies} series cop{'y' if copies == 1 else 'ies'} of {length} samples "
            f"into the {input_length}-sample source input, leaving the input program "
            f"{max(share, 0.0):.0%} of the waveform (at least {MIN_PROGRAM_SHARE:.0%} needed, or "
            f"the program has nothing to act on). Pass resample='auto' (series up to "
            f"{longest} samples per copy), an int of at most "
            f"{int((1 - MIN_PROGRAM_SHARE) * input_length / copies)}, fewer segments, or a longer "
            "input_length."
        )
    return length


def window_layout(n_timepoints, frame_length, hop=HALF_WINDOW_HOP):
    """Windows of a series kept at its own resolution: ``(n_windows, window)``.

    A series of at most ``MAX_SERIES_SHARE * frame_length`` samples is one
    window, itself. A longer one is cut into windows of that length (half a
    source frame) whose starts are about ``hop`` windows apart (half a
    window by default, so neighbours overlap by about half; 1: end to end,
    about half the windows), the last one ending on the series' last sample;
    each window gets its own source frame, and the program the other half
    of it.

    Parameters
    ----------
    n_timepoints : int
        Length of the training series.
    frame_length : int
        Samples of one source frame.
    hop : float, default=0.5
        Share of a window between the starts of neighbouring windows, in ``(0, 1]``.

    Returns
    -------
    n_windows, window : int

    Examples
    --------
    >>> window_layout(1460, 1024)
    (5, 512)
    >>> window_layout(1460, 1024, hop=1.0)
    (3, 512)
    >>> window_layout(300, 1024)
    (1, 300)
    """
    window = max(int(MAX_SERIES_SHARE * frame_length), 1)
    if n_timepoints <= window:
        return 1, int(n_timepoints)
    step = max(int(window * hop), 1)
    return int(np.ceil((n_timepoints - window) / step)) + 1, window


def window_starts(n_timepoints, window, n_windows):
    """First sample of each window: evenly spread, the last ending on the last sample.

    Examples
    --------
    >>> window_starts(1460, 512, 5)
    [0, 237, 474, 711, 948]
    """
    if n_windows == 1:
        return [0]
    return [int(round(k * (n_timepoints - window) / (n_windows - 1))) for k in range(n_windows)]


def series_view(X, view):
    """What a program of this ``view`` places of each series.

    ``"series"``: the series as they are. ``"diff"``: each channel's first
    difference ``x[t] - x[t-1]``, with 0 at ``t = 0`` so the length is kept
    (a series and its difference share one window layout), scaled to unit
    standard deviation per series and channel. Without the scaling a smooth
    series' differences would be tiny next to the program, whose scale does
    not depend on the series; the source's frame normalisation makes the
    scale irrelevant while the program is zero.

    Parameters
    ----------
    X : ndarray of shape (n_series, n_channels, n_timepoints)
    view : {"series", "diff"}

    Returns
    -------
    ndarray of shape (n_series, n_channels, n_timepoints)

    Examples
    --------
    >>> series_view(np.array([[[1.0, 3.0, 2.0]]]), "diff").round(3)
    array([[[ 0.   ,  1.604, -0.802]]])
    """
    if view not in VIEWS:
        raise ValueError(f"Unknown view {view!r}; use one of {list(VIEWS)}.")
    if view == "series":
        return X
    # Of the float32 values the model places (prepare_series), computed in float64: a float32 and a
    # float64 copy of a series then read the same.
    X = np.asarray(X, dtype=np.float32).astype(np.float64)
    difference = np.diff(X, axis=-1, prepend=X[..., :1])
    # NaN past the end of a series read at its own length stays NaN.
    spread = (
        np.nanstd(difference, axis=-1, keepdims=True)
        if np.isnan(difference).any()
        else difference.std(axis=-1, keepdims=True)
    )
    return difference / np.maximum(spread, _DIFF_STD_FLOOR)


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
    resample = _resample_own_lengths if torch.isnan(series).any() else resample_series
    series = resample(series, series_length, interpolation) * amplitude
    return series.reshape(n_series, n_channels, series_length)


def _resample_own_lengths(series, length, interpolation):
    """:func:`resample_series` of series read at their own length (NaN after each end).

    Each series is resampled by the factor ``length / n_timepoints`` on its
    own, as it would be alone, and is NaN after its new end.
    """
    n_timepoints = series.shape[-1]
    resampled = series.new_full((series.shape[0], length), float("nan"))
    for own, rows in _rows_by_own_length(series):
        target = own_length_placed(own, length, n_timepoints)
        resampled[rows, :target] = resample_series(series[rows, :own], target, interpolation)
    return resampled


def _rows_by_own_length(series):
    """``(length, rows)`` for each own length of ``(n, n_timepoints)`` series with NaN after their ends."""
    lengths = (~torch.isnan(series)).sum(dim=1)
    return [(length, torch.nonzero(lengths == length).flatten()) for length in lengths.unique().tolist()]


def own_length_placed(own_length, series_length, n_timepoints):
    """Length in the waveform of a series of ``own_length`` samples read at its own length.

    The series is resampled by the factor ``series_length / n_timepoints``
    that resamples the longest series (``n_timepoints``) to its length in
    the waveform (``series_length``), as it would be alone.

    Examples
    --------
    >>> own_length_placed(100, 4 * 1344, 1344)
    400
    """
    return min(max(int(round(own_length * series_length / n_timepoints)), 1), series_length)


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


def _pad_inside_copy(copy):
    """A copy of a series read at its own length (NaN past its end): zeros where it ends inside the copy.

    A copy wholly past the end stays NaN, which tells the source to leave
    its frame out of the pooling (:class:`~voice2series.sources.CrepeSource`);
    the program's mask keeps the program off it.
    """
    missing = torch.isnan(copy)
    if not missing.any():
        return copy
    return torch.where(missing.all(dim=-1, keepdim=True), copy, copy.nan_to_num(0.0))


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
    window : int, optional
        Cut the (univariate) series into ``segments`` windows of ``window``
        samples (:func:`window_starts`) and put window ``k`` into segment
        ``k``, instead of a copy of the whole series into every segment:
        a long series at its own resolution, one source frame per window
        (``resample="windows"``).
    window_hop : float, default=0.5
        With ``window``: the hop (:func:`window_layout`) the windows of a
        shorter series read at its own length are laid out with
        (:meth:`place`).
    view : {"series", "diff"}, default="series"
        What is placed of each series (:func:`series_view`): the series, or
        its scaled first difference.
    knot_spacing : int, default=1
        Samples between the program's learnable values. 1: one value per
        waveform sample. ``s > 1``: ``ceil((input_length - 1) / s) + 1``
        values (knots) spread evenly over the waveform and linearly
        interpolated between (:meth:`values`), a program with about
        ``1 / s`` of the degrees of freedom.

    Attributes
    ----------
    delta : torch.nn.Parameter of shape (input_length,) or (n_knots,)
        The learned program (its knots with ``knot_spacing > 1``),
        initialised as ``init`` says.
    mask : torch.Tensor of shape (input_length,)
        1 where the program acts, 0 where a series copy sits.
    offsets : list of int
        First sample of each series copy (or window).
    copy_length : int
        Samples each copy occupies: ``series_length``, or ``window``.
    starts : list of int or None
        With ``window``: the first series sample of each window.
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
        window=None,
        view="series",
        knot_spacing=1,
        window_hop=HALF_WINDOW_HOP,
    ):
        super().__init__()
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {view!r}.")
        if init not in PROGRAM_INITS:
            raise ValueError(f"init must be one of {PROGRAM_INITS}, got {init!r}.")
        if window is not None and n_channels != 1:
            raise ValueError(
                f"Windows of a long series are for univariate series; got {n_channels} channels. "
                "Use resample='auto' for multivariate series."
            )
        self.view = view
        self.input_length = int(input_length)
        self.series_length = int(series_length)
        self.n_channels = int(n_channels)
        self.copy_length = self.series_length if window is None else int(window)
        self.starts = None if window is None else window_starts(self.series_length, self.copy_length, segments)
        self.window_hop = float(window_hop)
        self.offsets = segment_offsets(self.input_length, self.copy_length, segments * self.n_channels, placement)
        mask = torch.ones(self.input_length)
        for offset in self.offsets:
            mask[offset : offset + self.copy_length] = 0.0
        self.register_buffer("mask", mask)
        self.knot_spacing = int(knot_spacing)
        self.delta = nn.Parameter(torch.zeros(n_program_values(self.input_length, self.knot_spacing)))
        if init == "glorot":
            bound = glorot_uniform_bound(self.input_length)
            with torch.no_grad():
                self.delta.uniform_(-bound, bound)
        self.dropout = nn.Dropout(dropout)
        self.mask_net = SampleMaskNet() if sample_specific_mask else None

    def __setstate__(self, state):
        # Programs pickled before windows existed hold whole-series copies only.
        state.setdefault("copy_length", state["series_length"])
        state.setdefault("starts", None)
        # ... and before views: they place the series itself; before knots, one value per sample.
        state.setdefault("view", "series")
        state.setdefault("knot_spacing", 1)
        # ... and before series read at their own length (which need the hop).
        state.setdefault("window_hop", HALF_WINDOW_HOP)
        super().__setstate__(state)

    def place(self, series):
        """Zero-padded waveforms holding the series copies, ``(n, input_length)``.

        ``series`` is ``(n, series_length)`` or ``(n, n_channels, series_length)``.
        """
        channels = series[:, None, :] if series.ndim == 2 else series
        if self.starts is not None and torch.isnan(channels).any():
            return self._place_own_lengths(channels[:, 0])
        waveform = series.new_zeros(series.shape[0], self.input_length)
        for index, offset in enumerate(self.offsets):
            waveform[:, offset : offset + self.copy_length] = _pad_inside_copy(self._copy(channels, index))
        return waveform

    def _place_own_lengths(self, series):
        """Windows of ``(n, series_length)`` series read at their own length (NaN after each end).

        Each series gets the windows :func:`window_layout` gives its own
        length (the last ending on its last sample, as for a series of that
        length alone) in the first segments; the segments after them are NaN,
        which the source leaves out of its average over frames.
        """
        waveform = series.new_zeros(series.shape[0], self.input_length)
        for length, rows in _rows_by_own_length(series):
            window, starts = self._own_windows(length)
            for index, offset in enumerate(self.offsets):
                if index < len(starts):
                    copy = series[rows, starts[index] : starts[index] + window]
                    waveform[rows, offset : offset + window] = copy
                else:
                    waveform[rows, offset : offset + self.copy_length] = float("nan")
        return waveform

    def _own_windows(self, length):
        """``(window, starts)`` of a series of ``length`` samples read at its own length, as alone."""
        n_windows, window = window_layout(length, self.input_length // len(self.offsets), self.window_hop)
        return window, window_starts(length, window, n_windows)

    def place_series(self, X, interpolation="linear", amplitude=1.0):
        """Checked series ``(n, n_channels, n_timepoints)`` → placed waveforms on ``delta``'s device.

        :func:`series_view`, :func:`prepare_series` to ``series_length``, then :meth:`place`.
        """
        series = prepare_series(series_view(X, self.view), self.series_length, interpolation, amplitude)
        return self.place(series.to(self.delta.device))

    def _copy(self, channels, index):
        """What copy ``index`` holds: a channel of the series, or its window ``index``."""
        if self.starts is None:
            return channels[:, index % self.n_channels]
        start = self.starts[index]
        return channels[:, 0, start : start + self.copy_length]

    def unplace(self, values, own_lengths=None):
        """Per-sample waveform values back on the placed series' time steps.

        The inverse of :meth:`place` for anything measured per waveform
        sample (a saliency, a gradient): values at the samples a copy
        occupies are averaged over the copies of each channel, or, with
        windows, over the windows covering each series sample.

        Parameters
        ----------
        values : ndarray of shape (n, input_length)
        own_lengths : sequence of int, optional
            For series read at their own length: each one's length as
            placed (:func:`own_length_placed`); NaN after it.

        Returns
        -------
        ndarray of shape (n, n_channels, series_length)
        """
        values = np.asarray(values, dtype=np.float64)
        if own_lengths is not None:
            return self._unplace_own_lengths(values, own_lengths)
        copies = [values[:, offset : offset + self.copy_length] for offset in self.offsets]
        if self.starts is None:
            # Copies run channel 0, 1, ..., n_channels-1, then repeat for each segment.
            stacked = np.stack(copies, axis=1).reshape(len(values), -1, self.n_channels, self.series_length)
            return stacked.mean(axis=1)
        total = np.zeros((len(values), self.series_length))
        count = np.zeros(self.series_length)
        for start, copy in zip(self.starts, copies):
            total[:, start : start + self.copy_length] += copy
            count[start : start + self.copy_length] += 1
        return (total / count)[:, None, :]

    def _unplace_own_lengths(self, values, own_lengths):
        """:meth:`unplace` of series placed at their own lengths (:meth:`_place_own_lengths`)."""
        unplaced = np.full((len(values), self.n_channels, self.series_length), np.nan)
        for row, length in enumerate(own_lengths):
            if self.starts is None:
                copies = np.stack([values[row, offset : offset + length] for offset in self.offsets])
                unplaced[row, :, :length] = copies.reshape(-1, self.n_channels, length).mean(axis=0)
                continue
            window, starts = self._own_windows(length)
            total, count = np.zeros(length), np.zeros(length)
            for start, offset in zip(starts, self.offsets):
                total[start : start + window] += values[row, offset : offset + window]
                count[start : start + window] += 1
            unplaced[row, 0, :length] = total / count
        return unplaced

    def forward(self, placed):
        """Add the masked program to waveforms made by :meth:`place`."""
        return placed + self.sample_mask(placed) * self.dropout(self.values())

    def is_fixed(self):
        """Whether the waveforms this program makes stay the same through training.

        True when ``delta`` does not train, no sample-specific mask does, and
        dropout draws nothing (a fixed program then adds the same values to a
        series at every step, so what a frozen source makes of it can be
        computed once).
        """
        return not self.delta.requires_grad and self.mask_net is None and self.dropout.p == 0

    def values(self):
        """``delta`` on every waveform sample, ``(input_length,)``: itself, or its knots linearly interpolated."""
        if self.knot_spacing == 1:
            return self.delta
        return F.interpolate(self.delta[None, None], size=self.input_length, mode="linear", align_corners=True)[0, 0]

    def shared_program(self):
        """What :meth:`forward` adds to every waveform: ``mask * dropout(delta)``.

        One ``(input_length,)`` vector, the same for every series of a batch
        (with dropout, a new draw per call, drawn exactly as :meth:`forward`
        draws it). Zero wherever a series sits. Only without a
        sample-specific mask, which makes the program differ per series.
        """
        if self.mask_net is not None:
            raise ValueError("With a sample-specific mask the program differs per series; use forward().")
        return self.mask * self.dropout(self.values())

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
        return (self.mask * self.values()).detach().cpu().numpy().astype(np.float64)


class JointProgram(nn.Module):
    """One :class:`InputProgram` per source of a joint source, their waveforms end to end.

    The waveform of a :class:`~voice2series.sources.JointSource` is its
    members' input waveforms one after the other; member ``k``'s part holds
    the series as program ``k`` places it, and program ``k`` acts on that
    part only.

    Parameters
    ----------
    programs : list of InputProgram
        In the order of the joint source's members.

    Attributes
    ----------
    programs : torch.nn.ModuleList
    input_length : int
        Samples of the whole waveform.
    mask : torch.Tensor of shape (input_length,)
        The members' masks end to end.
    mask_net : None
        A joint program has no sample-specific mask.
    """

    mask_net = None

    def __init__(self, programs):
        super().__init__()
        self.programs = nn.ModuleList(programs)
        self.input_lengths = [program.input_length for program in programs]
        self.input_length = sum(self.input_lengths)
        self.register_buffer("mask", torch.cat([program.mask for program in programs]))

    @property
    def delta(self):
        """The members' programs end to end (a view for penalties; train the members' ``delta``)."""
        return torch.cat([program.delta for program in self.programs])

    def place_series(self, X, interpolation="linear", amplitude=1.0):
        """Each member's placed waveforms, end to end: ``(n, input_length)``."""
        return torch.cat([program.place_series(X, interpolation, amplitude) for program in self.programs], dim=1)

    def forward(self, placed):
        return torch.cat(self.member_waveforms(placed), dim=-1)

    def member_waveforms(self, placed, skip=()):
        """Each member's reprogrammed part of ``placed``, apart.

        Kept apart so that a member whose program does not train gives a
        waveform without a gradient, and autograd records no backward pass
        through its source member.

        Parameters
        ----------
        placed : torch.Tensor of shape (n, input_length)
        skip : collection of int, default=()
            Members whose waveforms are not needed (None in their place).

        Returns
        -------
        list of torch.Tensor of shape (n, member input_length) or None
        """
        parts = torch.split(placed, self.input_lengths, dim=-1)
        return [
            None if index in skip else program(part) for index, (program, part) in enumerate(zip(self.programs, parts))
        ]

    def fixed_members(self):
        """Indices of the members whose waveforms training does not change (:meth:`InputProgram.is_fixed`)."""
        return [index for index, program in enumerate(self.programs) if program.is_fixed()]

    def program(self):
        """The members' programs as they act on the waveform, end to end (numpy)."""
        return np.concatenate([program.program() for program in self.programs])

    def unplace(self, values):
        raise ValueError(
            "Maps back onto the series read one program; this model has one per source of a joint "
            "source (or per view of the series). voice2series.explain.waveform_to_series maps each "
            "program's part back and averages them."
        )
