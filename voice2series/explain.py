"""What the reprogrammed model hears, and why: saliency, Grad-CAM, embeddings, Theorem 1.

All functions take a fitted :class:`~voice2series.V2SClassifier` and series
shaped like those it was fitted on. They compute; :mod:`voice2series.plots`
draws.

Theorem 1 of Yang, Tsai & Chen (ICML 2021) bounds the target risk by the
source risk plus the Wasserstein-1 distance between the source model's
representations of source data and of reprogrammed target data.
:func:`theorem1_distance` estimates that distance with the sliced
Wasserstein distance; since the source training data (for CREPE: recorded
music and speech) is not shipped, :func:`reference_tones` stands in for it
with synthetic pitched tones, the signals CREPE was built to recognise.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import wasserstein_distance
from sklearn.manifold import TSNE
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .program import own_length_placed
from .series_input import check_series, own_lengths
from .training import model_on

__all__ = [
    "sliced_wasserstein",
    "reference_tones",
    "source_representations",
    "theorem1_distance",
    "saliency",
    "grad_cam",
    "waveform_to_series",
    "tsne_embedding",
    "default_cam_layer",
    "waveform_sources",
    "waveform_programs",
]


def sliced_wasserstein(a, b, n_projections=1000, random_state=None):
    """Sliced Wasserstein-1 distance between two point clouds.

    Both clouds are projected onto ``n_projections`` random unit directions;
    the distance is the mean over directions of the 1-D Wasserstein-1
    distance between the projected samples.

    Parameters
    ----------
    a : array-like of shape (n_a, n_features)
    b : array-like of shape (n_b, n_features)
        The two samples; their sizes may differ.
    n_projections : int, default=1000
    random_state : int, RandomState instance or None
        Draws the directions.

    Returns
    -------
    float
        0 for identical samples; for ``b = a + s`` it equals the mean of
        ``|<s, theta>|`` over the directions.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must be 2-D with the same number of features, got shapes {a.shape} and {b.shape}.")
    directions = check_random_state(random_state).normal(size=(n_projections, a.shape[1]))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    projected_a, projected_b = a @ directions.T, b @ directions.T
    return float(np.mean([wasserstein_distance(projected_a[:, k], projected_b[:, k]) for k in range(n_projections)]))


def reference_tones(source, n_tones=200, random_state=None, fmin=32.7, fmax=1975.5):
    """Synthetic pitched tones: a stand-in for the source model's own training data.

    Each tone has a log-uniform fundamental in ``[fmin, fmax]`` (CREPE's
    pitch range, C1 to B6), a random phase, three harmonics with decaying
    random amplitudes and a little white noise, at the source's sample rate
    and input length.

    Parameters
    ----------
    source : AcousticSource
    n_tones : int, default=200
    random_state : int, RandomState instance or None
    fmin, fmax : float
        Range of fundamental frequencies in Hz.

    Returns
    -------
    torch.Tensor of shape (n_tones, source.input_length)
    """
    rng = check_random_state(random_state)
    t = np.arange(source.input_length) / source.sample_rate
    f0 = np.exp(rng.uniform(np.log(fmin), np.log(fmax), size=(n_tones, 1)))
    tones = np.zeros((n_tones, source.input_length))
    for harmonic in (1, 2, 3):
        # At most 1/h of the fundamental's floor: the fundamental stays the strongest.
        amplitude = rng.uniform(0.5, 1.0, size=(n_tones, 1)) / harmonic
        phase = rng.uniform(0, 2 * np.pi, size=(n_tones, 1))
        tones += amplitude * np.sin(2 * np.pi * harmonic * f0 * t + phase)
    tones += 0.01 * rng.normal(size=tones.shape)
    return torch.tensor(tones, dtype=torch.float32)


def _placed(clf, X):
    """Placed (not yet reprogrammed) waveforms of ``X`` on the CPU."""
    return clf.placed_waveforms(X)


def _model(clf):
    """The fitted model on the CPU, in evaluation mode (a copy when it lives elsewhere)."""
    check_is_fitted(clf)
    return model_on(clf.model_, torch.device("cpu")).eval()


def source_representations(clf, X, reprogrammed=True):
    """Source-model outputs (logits) for series ``X``.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    X : array-like of shape (n_series, n_timepoints) or (n_series, n_channels, n_timepoints)
    reprogrammed : bool, default=True
        With the learned program added (what the mapping sees), or the
        zero-padded series alone (before reprogramming).

    Returns
    -------
    ndarray of shape (n_series, n_source_outputs)
    """
    model = _model(clf)
    placed = _placed(clf, X)
    with torch.no_grad():
        waveform = model.program(placed) if reprogrammed else placed
        return model.source(waveform).double().numpy()


def theorem1_distance(clf, X, n_reference=200, n_projections=1000, random_state=0):
    """Sliced Wasserstein distance between source-domain and reprogrammed target representations.

    The empirical side of Theorem 1 (Yang, Tsai & Chen, 2021): source logits
    of :func:`reference_tones` against source logits of the reprogrammed
    series. Smaller means the program moved the target data closer to what
    the source model knows.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    X : array-like
        Target series.
    n_reference : int, default=200
        Number of reference tones.
    n_projections : int, default=1000
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    dict
        ``after``: distance with the program; ``before``: with the series
        alone (zero-padded).
    """
    model = _model(clf)
    rng = check_random_state(random_state)
    with torch.no_grad():
        reference = model.source(reference_tones(model.source, n_reference, rng)).double().numpy()
    seed = rng.randint(2**31)
    return {
        stage: sliced_wasserstein(
            reference, source_representations(clf, X, reprogrammed=stage == "after"), n_projections, seed
        )
        for stage in ("before", "after")
    }


def _target_classes(clf, placed, classes):
    """Integer class indices: the given labels' positions, or the predicted class."""
    if classes is None:
        with torch.no_grad():
            return _model(clf)(placed).argmax(dim=1)
    classes = np.asarray(classes)
    if not np.all(np.isin(classes, clf.classes_)):
        raise ValueError(f"classes must be labels from clf.classes_ {list(clf.classes_)}.")
    # classes_ comes sorted from the LabelEncoder.
    return torch.as_tensor(np.searchsorted(clf.classes_, classes))


def saliency(clf, X, classes=None):
    """Input saliency on the time steps of the original series.

    The absolute gradient of the class score with respect to each waveform
    sample (Simonyan et al., 2014), read off where the series sits and
    mapped back to the series' own time steps (:func:`waveform_to_series`).

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    X : array-like of shape (n_series, n_timepoints) or (n_series, n_channels, n_timepoints)
    classes : array-like of shape (n_series,), optional
        The class whose score is explained, per series; default the predicted one.

    Returns
    -------
    ndarray of shape (n_series, n_channels, n_timepoints)
    """
    model = _model(clf)
    placed = _placed(clf, X).requires_grad_(True)
    targets = _target_classes(clf, placed.detach(), classes)
    scores = model(placed)
    scores.gather(1, targets[:, None]).sum().backward()
    return waveform_to_series(clf, placed.grad.abs().numpy(), own_lengths(check_series(clf, X, reset=False)[0]))


def default_cam_layer(source):
    """The source's first 1-D convolution, the finest time axis Grad-CAM can use.

    Later layers are more class-specific but coarse: CREPE's last
    convolution has 8 time steps per 1024-sample frame, so a series of a few
    dozen samples falls inside one of them and its map is flat (often zero).
    The first layer has 256, resolving short series.

    Parameters
    ----------
    source : AcousticSource

    Returns
    -------
    str
        Module name for :func:`grad_cam` (``"convs.0"`` for CREPE).
    """
    names = [name for name, module in source.named_modules() if isinstance(module, nn.Conv1d)]
    if not names:
        raise ValueError(f"{type(source).__name__} has no Conv1d layer; pass layer= explicitly.")
    return names[0]


def grad_cam(clf, X, classes=None, layer=None):
    """Grad-CAM (Selvaraju et al., 2017) on a layer of the source, per waveform sample.

    Channel weights are the time-averaged gradients of the class score with
    respect to the layer's output; the map is the ReLU of the weighted sum
    of its channels, stretched linearly from the layer's time axis onto the
    waveform and normalised to sum to 1. A source that cuts the waveform into
    frames (CREPE beyond 1024 samples) is handled by laying the frames' maps
    end to end, exact when frames do not overlap. A model that reads several
    waveforms (a joint source, or ``views="series+diff"``) gets each
    waveform's map from its own source's first convolution, end to end.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    X : array-like
        Series.
    classes : array-like of shape (n_series,), optional
        The class explained per series; default the predicted one.
    layer : str or torch.nn.Module, optional
        A module of ``clf.model_.source`` whose output is ``(batch, channels,
        time)``; default :func:`default_cam_layer`.

    Returns
    -------
    ndarray of shape (n_series, waveform_length)
        Non-negative, each row summing to 1 (all zero when no channel
        supports the class).
    """
    model = _model(clf)
    parts = waveform_sources(model)
    if layer is not None and len(parts) > 1:
        raise ValueError(
            f"This model reads {len(parts)} waveforms (a joint source, or views of the series), each "
            "through its own source; leave layer=None to map each one's first convolution."
        )
    modules = [member.get_submodule(default_cam_layer(member)) for member in parts] if layer is None else [layer]
    modules = [model.source.get_submodule(m) if isinstance(m, str) else m for m in modules]
    # One hook per module: a source instance passed for several views is one module called once per waveform.
    modules = list({id(module): module for module in modules}.values())
    placed = _placed(clf, X)
    targets = _target_classes(clf, placed, classes)
    captured = []

    def keep(_, __, output):
        output.retain_grad()
        captured.append(output)

    handles = [module.register_forward_hook(keep) for module in modules]
    try:
        with torch.enable_grad():
            model(placed.requires_grad_(True)).gather(1, targets[:, None]).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    lengths = [placed.shape[1]] if len(parts) == 1 else [member.input_length for member in parts]
    cam = torch.cat([_cam(maps, len(placed), length) for maps, length in zip(captured, lengths)], dim=1)
    total = cam.sum(dim=1, keepdim=True)
    return torch.where(total > 0, cam / total.clamp_min(1e-30), cam).double().numpy()


def waveform_sources(model):
    """The sources that read the parts of a model's waveform, in order: a joint source's members, or its source.

    Parameters
    ----------
    model : ReprogrammedModel

    Returns
    -------
    list of AcousticSource
    """
    return list(getattr(model.source, "members", [model.source]))


def waveform_programs(model):
    """The programs of the parts of a model's waveform, in order (one per :func:`waveform_sources` entry).

    Parameters
    ----------
    model : ReprogrammedModel

    Returns
    -------
    list of InputProgram
    """
    return list(getattr(model.program, "programs", [model.program]))


def _cam(maps, n_waveforms, length):
    """Grad-CAM of one layer's captured output, stretched onto its ``length`` waveform samples."""
    activations, gradients = maps.detach(), maps.grad
    cam = F.relu((gradients.mean(dim=2, keepdim=True) * activations).sum(dim=1))
    # Rows beyond the batch are frames of the same waveform, in order.
    cam = cam.reshape(n_waveforms, -1)
    return F.interpolate(cam[:, None], size=length, mode="linear", align_corners=False)[:, 0]


def waveform_to_series(clf, values, lengths=None):
    """Map per-sample waveform values onto the time steps of the original series.

    Values at the samples each series copy occupies are averaged over the
    copies (segments) of a channel, or over the windows covering a sample
    (:meth:`voice2series.program.InputProgram.unplace`), then resampled
    linearly from the placed length back to the series' length. A model
    that reads several waveforms (a joint source, or ``views="series+diff"``)
    gets the mean over its waveforms; on the difference's waveform, step
    ``t`` stands for the change from ``t - 1`` to ``t``.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    values : array-like of shape (n_series, waveform_length)
    lengths : sequence of int, optional
        For series read at their own length (``unequal_lengths="own"``),
        each one's length (:func:`voice2series.series_input.own_lengths`);
        NaN after it.

    Returns
    -------
    ndarray of shape (n_series, n_channels, n_timepoints)
    """
    programs = waveform_programs(clf.model_)
    parts = np.split(np.asarray(values, dtype=np.float64), np.cumsum([p.input_length for p in programs])[:-1], axis=1)
    if lengths is None:
        unplaced = [_unplaced(clf, member, part) for member, part in zip(programs, parts)]
    else:
        unplaced = [_unplaced_own_lengths(clf, member, part, lengths) for member, part in zip(programs, parts)]
    return np.mean(unplaced, axis=0)


def _unplaced_own_lengths(clf, program, values, lengths):
    """:func:`_unplaced` of series read at their own lengths: each resampled back to its own length."""
    placed_lengths = [own_length_placed(length, program.series_length, clf.n_timepoints_) for length in lengths]
    per_channel = program.unplace(values, placed_lengths)
    unplaced = np.full((len(values), clf.n_channels_, clf.n_timepoints_), np.nan)
    for row, (length, placed_length) in enumerate(zip(lengths, placed_lengths)):
        own = torch.tensor(per_channel[row, :, None, :placed_length])
        unplaced[row, :, :length] = F.interpolate(own, size=length, mode="linear", align_corners=True)[:, 0].numpy()
    return unplaced


def _unplaced(clf, program, values):
    """One program's part of the waveform values on the series' time steps."""
    length, n_channels = program.series_length, clf.n_channels_
    per_channel = program.unplace(values)
    if length == clf.n_timepoints_:
        return per_channel
    flat = torch.tensor(per_channel.reshape(-1, 1, length))
    resampled = F.interpolate(flat, size=clf.n_timepoints_, mode="linear", align_corners=True)
    return resampled.numpy().reshape(len(values), n_channels, clf.n_timepoints_)


def tsne_embedding(clf, X, perplexity=30.0, random_state=0):
    """2-D t-SNE of source outputs before and after reprogramming.

    Both sets are embedded together, so the two views share coordinates.

    Parameters
    ----------
    clf : V2SClassifier
        Fitted.
    X : array-like
        Series (at least 3).
    perplexity : float, default=30
        Lowered to ``(n_series * 2 - 1) / 3`` for small inputs, as t-SNE
        needs fewer neighbours than points.
    random_state : int, default=0

    Returns
    -------
    dict
        ``before`` and ``after``: arrays of shape (n_series, 2).
    """
    before = source_representations(clf, X, reprogrammed=False)
    after = source_representations(clf, X, reprogrammed=True)
    both = np.concatenate([before, after])
    perplexity = min(perplexity, (len(both) - 1) / 3)
    # Exact t-SNE is quicker than Barnes-Hut up to some hundreds of points
    # (400 points: 4.5 s against 38 s on a 2-core machine) and exact.
    method = "exact" if len(both) <= 1000 else "barnes_hut"
    embedded = TSNE(2, perplexity=perplexity, init="pca", method=method, random_state=random_state).fit_transform(both)
    return {"before": embedded[: len(before)], "after": embedded[len(before) :]}
