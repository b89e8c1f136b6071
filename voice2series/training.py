"""Training: the reprogrammed model and the loop that learns its program."""

from __future__ import annotations

import contextlib
import copy
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import brentq
from sklearn.model_selection import train_test_split
from torch import nn
from tqdm.auto import tqdm

from .blackbox import QueryBudgetExhausted, zo_train_one_epoch
from .mapping import make_mapping
from .program import HALF_WINDOW_HOP, InputProgram, JointProgram, series_length_in_waveform, window_layout
from .sources import (
    JOINER,
    AcousticSource,
    JointSource,
    MemberBatch,
    SplitBatch,
    frames_long_inputs,
    get_source,
    member_names,
)

__all__ = [
    "AUTO_EARLY_STOPPING_MIN_SERIES",
    "MAX_LOSS_TEMPERATURE",
    "PROGRAM_LOSSES",
    "FINETUNES",
    "LR_SCHEDULES",
    "READOUTS",
    "TRAININGS",
    "FixedMemberCache",
    "ReprogrammedModel",
    "SeriesCache",
    "build_model",
    "cached_rows",
    "calibrate_mapping",
    "calibrate_on",
    "is_better",
    "loss_temperature",
    "model_on",
    "program_scales_of",
    "every_series",
    "fit_final_head",
    "predict_logits",
    "program_penalty",
    "resolve_auto",
    "resolve_device",
    "source_outputs",
    "temperature_for_loss",
    "train_model",
    "train_one_epoch",
    "training_options",
    "unmet_window_needs",
    "uses_early_stopping",
    "validation_split",
    "window_hop",
]


LR_SCHEDULES = ("constant", "cosine", "inverse-time")
TRAININGS = ("white-box", "black-box")
FINETUNES = ("none", "last", "all")
# What of the source the mapping reads (AcousticSource.with_readout).
READOUTS = ("auto", "logits", "inner", "both")
# With fewer training series, early_stopping="auto" trains on all of them.
AUTO_EARLY_STOPPING_MIN_SERIES = 200
# What the program's gradient comes from: the loss of the training series under
# the head being trained with it ("train"), that loss with the logits tempered
# (loss_temperature), or the loss under heads fitted without them (crossfit.py).
PROGRAM_LOSSES = ("train", "tempered", "cross-fitted")
# The tempered loss's temperature search stops here: a start no better than
# chance on held-out folds would otherwise ask for an unbounded one.
MAX_LOSS_TEMPERATURE = 1e3


class ReprogrammedModel(nn.Module):
    """Input program → frozen source → label mapping.

    Pickles without the weights of a registered source (they are rebuilt from
    the installed package), and always onto the CPU. A fine-tuned source's
    trainable parameters (those with ``requires_grad``) are part of
    :meth:`trained_state` and are pickled with the model.

    Fixed members: in a joint model (several sources, views or time scales),
    a member whose program does not train and whose source member is frozen
    (:meth:`fixed_members`) gives the same outputs for a series at every
    step; :meth:`series_cache` then returns a :class:`FixedMemberCache` of
    them, and training runs only the other members.

    Amortised first layer: when :meth:`amortises` holds, :meth:`series_cache`
    computes the source's series part (see
    :class:`~voice2series.sources.AcousticSource`, ``additive_split``) of a
    fixed set of placed series once, and ``model(placed, cache.rows(index))``
    then gives the same scores as ``model(placed)`` while the source's first
    layer runs once per batch, on the program, instead of once per series.
    :func:`train_model` does this for the training and validation series.

    Attributes
    ----------
    amortise : bool, default=True
        Class-wide switch: ``False`` makes :meth:`series_cache` return None
        (neither cache), so training steps, validation and mapping refreshes
        run the whole source on every waveform (the plain path, for
        comparison and tests).
        Set it on an instance for one model. Prediction on new series
        (:func:`predict_logits` without a cache) always runs the plain path:
        without gradients a series part computed per batch saves nothing.
    cache_bytes : int, default=512 MiB
        Most bytes :meth:`series_cache` stores. Beyond it the series part is
        recomputed per batch, which still saves the first layer's backward
        pass per series.
    """

    amortise = True
    cache_bytes = 512 * 2**20

    def __init__(self, program, source, mapping):
        super().__init__()
        self.program = program
        self.source = source
        self.mapping = mapping

    def forward(self, placed, series_part=None):
        """Class scores of placed waveforms.

        Parameters
        ----------
        placed : torch.Tensor of shape (batch, input_length)
            Waveforms from ``program.place``.
        series_part : tuple of torch.Tensor or dict, optional
            ``cache.rows(index)`` of a :meth:`series_cache` for the same
            rows: a :class:`SeriesCache`'s series part (the source gets it
            and the shared program instead of the waveforms; ``placed`` is
            not read), or a :class:`FixedMemberCache`'s member outputs
            (those members are not run).
        """
        return self.mapping(self.source_scores(placed, series_part))

    def source_scores(self, placed, series_part=None):
        """Source outputs of the reprogrammed waveforms (see :meth:`forward`)."""
        if isinstance(self.program, JointProgram):
            # Members apart: a fixed member records no backward pass, and one
            # whose outputs a FixedMemberCache holds is not run at all.
            known = series_part or {}
            return self.source(MemberBatch(self.program.member_waveforms(placed, skip=known), known))
        if series_part is None:
            return self.source(self.program(placed))
        return self.source(SplitBatch(series_part, self.program.shared_program()))

    def amortises(self):
        """Whether :meth:`series_cache` applies to this model.

        It needs :attr:`amortise`, a source with ``additive_split``, one
        program shared by every series (no sample-specific mask; program
        dropout is fine: one draw per batch), and the parameters the series
        part depends on frozen (``finetune="all"`` trains them, so a stored
        series part would go stale).
        """
        return (
            self.amortise
            and self.source.additive_split
            and self.program.mask_net is None
            and not any(p.requires_grad for p in self.source.series_part_parameters())
        )

    def series_cache(self, placed, batch_size, max_bytes=None, outputs=None):
        """What a whole fit can compute once about ``placed``: a joint model's fixed members' outputs, or
        a single source's series part; None when neither applies (:meth:`fixed_members`, :meth:`amortises`).

        Parameters
        ----------
        placed : torch.Tensor of shape (n, input_length)
        batch_size : int
            Rows computed at a time.
        max_bytes : int, optional
            Storage limit; default :attr:`cache_bytes`.
        outputs : torch.Tensor of shape (n, n_source_outputs), optional
            The source outputs of ``placed`` through the current programs,
            when already computed (:func:`calibrate_mapping` returns them): a
            fixed members' cache takes its columns from them instead of
            running those members again.

        Returns
        -------
        FixedMemberCache, SeriesCache or None
        """
        max_bytes = self.cache_bytes if max_bytes is None else max_bytes
        if self.amortise and isinstance(self.program, JointProgram):
            fixed = self.fixed_members()
            if not fixed:
                return None
            if outputs is not None:
                return FixedMemberCache.from_outputs(self, outputs, fixed)
            return FixedMemberCache.of_waveforms(self, placed, batch_size, fixed, max_bytes)
        if not self.amortises():
            return None
        return SeriesCache(self.source, placed, batch_size, max_bytes)

    def fixed_members(self):
        """A joint model's members whose outputs for a given series do not change in training.

        Those whose program is fixed (:meth:`~voice2series.program.JointProgram.fixed_members`)
        and whose source member is frozen.

        Returns
        -------
        list of int
            Member indices; empty for a single source.
        """
        if not isinstance(self.program, JointProgram):
            return []
        return [
            index
            for index in self.program.fixed_members()
            if not any(p.requires_grad for p in self.source.members[index].parameters())
        ]

    def trained_state(self):
        """A copy of everything that training changes: program, mapping, and
        the source parameters being fine-tuned (not the frozen rest)."""
        state = {
            key: value.detach().clone() for key, value in self.state_dict().items() if not key.startswith("source.")
        }
        state.update({f"source.{key}": value.detach().clone() for key, value in self.tuned_source_state().items()})
        return state

    def tuned_source_state(self):
        """The source's trainable parameters by name (empty when it is frozen)."""
        return {key: value for key, value in self.source.named_parameters() if value.requires_grad}

    def __getstate__(self):
        state = self.__dict__.copy()
        modules = dict(state["_modules"])
        cpu = torch.device("cpu")
        for name in ("program", "mapping"):
            modules[name] = model_on(modules[name], cpu)
        spec = self.source.spec()
        if spec:
            tuned = {key: value.detach().cpu() for key, value in self.tuned_source_state().items()}
            modules["source"] = {"spec": spec, "tuned": tuned}
        else:
            modules["source"] = model_on(self.source, cpu)
        state["_modules"] = modules
        return state

    def __setstate__(self, state):
        source = state["_modules"]["source"]
        if isinstance(source, dict):
            spec = dict(source["spec"])
            rebuilt = get_source(spec.pop("name"), **spec)
            tuned = source.get("tuned", {})
            rebuilt.load_state_dict(tuned, strict=False)
            for key, parameter in rebuilt.named_parameters():
                parameter.requires_grad_(key in tuned)
            state["_modules"]["source"] = rebuilt
        self.__dict__.update(state)


def time_scales_of(value):
    """The stretch factors a ``time_scales`` value names: ``"1+4"`` → ``[1, 4]``.

    Parameters
    ----------
    value : str
        Different positive integers joined by ``"+"``.

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        For anything else, naming the form to use.

    Examples
    --------
    >>> time_scales_of("1+4"), time_scales_of("2")
    ([1, 4], [2])
    """
    parts = value.split(JOINER) if isinstance(value, str) else []
    scales = [int(part) for part in parts if part.isascii() and part.isdigit() and int(part) >= 1]
    if not parts or len(scales) != len(parts) or len(set(scales)) != len(scales):
        raise ValueError(
            f"time_scales must be different positive integers joined by {JOINER!r}, such as '1' or '1+4'; "
            f"got {value!r}."
        )
    return scales


def program_scales_of(value, time_scales):
    """The time scales whose programs train: ``"all"``, or some of ``time_scales`` joined by ``"+"``.

    Parameters
    ----------
    value : str
        A ``program_scales`` value.
    time_scales : str
        The ``time_scales`` value it picks from.

    Returns
    -------
    list of int

    Raises
    ------
    ValueError
        When ``value`` is malformed or names a scale ``time_scales`` does not have.

    Examples
    --------
    >>> program_scales_of("all", "1+4"), program_scales_of("1", "1+4")
    ([1, 4], [1])
    """
    scales = time_scales_of(time_scales)
    if value == "all":
        return scales
    chosen = time_scales_of(value)
    if not set(chosen) <= set(scales):
        raise ValueError(
            f"program_scales={value!r} names scales that time_scales={time_scales!r} does not read; "
            f"use 'all' or some of {JOINER.join(map(str, scales))!r} joined by {JOINER!r}."
        )
    return chosen


def build_model(params, series_shape, n_classes, rng):
    """Program, source and mapping for series of shape ``(n_channels, n_timepoints)``.

    A joint source name (``"crepe-tiny+crepe-full"``) gives a
    :class:`~voice2series.program.JointProgram` of one program per source and
    a :class:`~voice2series.sources.JointSource`, each member built as a
    single source would be from the same parameters; several views
    (``views="series+diff"``) or time scales (``time_scales="1+4"``) give
    one member per view, scale and source, views outermost, then scales. A
    member of scale ``k`` is built for series ``k`` times as long: its
    program stretches each series to that length (linear interpolation,
    :func:`~voice2series.program.prepare_series`) before placing it, and
    its program trains only if ``program_scales`` names ``k``.

    Parameters
    ----------
    params : dict
        :class:`~voice2series.V2SClassifier` parameters (``get_params()``).
    series_shape : tuple of int
        ``(n_channels, n_timepoints)`` of the training series.
    n_classes : int
    rng : numpy.random.RandomState
        Draws the seed of a random label mapping.

    Returns
    -------
    ReprogrammedModel
        Untrained, on the CPU. A source instance passed by the caller is
        copied before fine-tuning unfreezes it, so the caller's object never
        changes.
    """
    # The channels decide time_scales="auto"; loading a saved model rebuilds it from get_params().
    params = resolve_auto(params, n_channels=series_shape[0])
    names = member_names(params["source"]) or [params["source"]]
    views = params.get("views", "series").split(JOINER)
    scales = time_scales_of(params.get("time_scales", "1"))
    trained_scales = program_scales_of(params.get("program_scales", "all"), params.get("time_scales", "1"))
    n_channels, n_timepoints = series_shape
    members = [
        _program_and_source(
            {**params, "source": name, "train_program": params["train_program"] and scale in trained_scales},
            (n_channels, scale * n_timepoints),
            view,
            window_hop(params, scale),
        )
        for view in views
        for scale in scales
        for name in names
    ]
    if len(members) == 1:
        program, source = members[0]
    else:
        program = JointProgram([member_program for member_program, _ in members])
        source = JointSource([member_source for _, member_source in members])
    if params["finetune"] != "none" and isinstance(params["source"], AcousticSource):
        source = copy.deepcopy(source)
    source.unfreeze(params["finetune"])
    mapping = make_mapping(
        params["mapping"],
        source.n_outputs,
        n_classes,
        np.random.default_rng(rng.randint(2**31)),
        params["outputs_per_class"],
        update_every=params["mapping_update_every"],
        blm_lambda=params["blm_lambda"],
        blm_topk_ratio=params["blm_topk_ratio"],
        reduction=params.get("mapping_reduction", "logits"),
    )
    return ReprogrammedModel(program, source, mapping)


def _program_and_source(params, series_shape, view="series", hop=HALF_WINDOW_HOP):
    """The program (placing ``view`` of the series, in windows ``hop`` apart) and source of one named source
    (or source instance), before fine-tuning."""
    n_channels, n_timepoints = series_shape
    options = {} if params["input_length"] is None else {"input_length": params["input_length"]}
    source = get_source(params["source"], **options)
    windowed = (
        _windowed_source(params, source, n_channels, n_timepoints, hop) if params["resample"] == "windows" else None
    )
    if windowed is not None:
        source, layout = windowed
    else:
        series_length = series_length_in_waveform(
            n_timepoints,
            source.input_length,
            segments=params["segments"],
            n_channels=n_channels,
            # "windows" places a series that fits in half a frame as "auto" does.
            resample="auto" if params["resample"] == "windows" else params["resample"],
        )
        layout = {"series_length": series_length, "segments": params["segments"]}
    source = source.with_readout(resolve_readout(params, source))
    program = InputProgram(
        source.input_length,
        layout["series_length"],
        layout["segments"],
        params["placement"],
        params["program_dropout"],
        n_channels,
        params["sample_specific_mask"],
        init=params.get("program_init", "zeros"),
        window=layout.get("window"),
        window_hop=hop,
        view=view,
        knot_spacing=params.get("program_knot_spacing", 1),
    )
    program.delta.requires_grad_(params["train_program"])
    return program, source


def window_hop(params, scale):
    """Share of a window between neighbouring windows' starts in a member of time scale ``scale``.

    Half a window at scale 1 (:data:`~voice2series.program.HALF_WINDOW_HOP`);
    ``stretched_window_hop`` in the stretched copies, which take ``scale``
    times the windows (1: end to end, about half of them). The one rule the
    model's layout and :mod:`voice2series.cost_model` both follow.

    Examples
    --------
    >>> window_hop({"stretched_window_hop": 1.0}, 1), window_hop({"stretched_window_hop": 1.0}, 4)
    (0.5, 1.0)
    """
    return HALF_WINDOW_HOP if scale == 1 else params.get("stretched_window_hop", HALF_WINDOW_HOP)


def unmet_window_needs(params, source, n_channels):
    """What ``resample="windows"`` needs to place a long series and ``params`` does not give it.

    The one statement of those needs: :func:`_windowed_source` refuses a
    configuration that lacks one, and ``time_scales="auto"`` reads the
    stretched copies only where none is lacking.

    Parameters
    ----------
    params : dict
        :class:`~voice2series.V2SClassifier` parameters.
    source : str or AcousticSource
        The source by name (as ``params`` give it) or built.
    n_channels : int
        Channels of the series.

    Returns
    -------
    list of str
        The unmet needs, worded for an error message; empty when windows can be placed.

    Examples
    --------
    >>> unmet_window_needs({"segments": 1, "input_length": None}, "crepe-tiny", 1)
    []
    >>> unmet_window_needs({"segments": 2, "input_length": None}, "speech-embedding", 1)
    ['a source that frames long inputs (CREPE)', 'segments=1']
    """
    needs = {
        "a source that frames long inputs (CREPE)": frames_long_inputs(source),
        "univariate series": n_channels == 1,
        "segments=1": params.get("segments", 1) == 1,
        "input_length=None (the windows set it)": params.get("input_length") is None,
    }
    return [need for need, met in needs.items() if not met]


def _windowed_source(params, source, n_channels, n_timepoints, hop=HALF_WINDOW_HOP):
    """``resample="windows"``: a source of one frame per window, and the program's layout.

    The series keeps its own resolution; :func:`~voice2series.program.window_layout`
    cuts it into half-frame windows ``hop`` windows apart and the source gets one frame per window
    (its outputs are pooled over frames as the source pools them). None when
    the series fits in half a frame (half the input of a source without
    frames): it is placed as with ``"auto"``, whatever the channels, segments
    and input length. ``source`` is the one built from ``params``; it serves
    as the frame source unless an explicit ``input_length`` changed it.
    """
    frame_source = source if params["input_length"] is None else get_source(params["source"])
    frame_length = getattr(frame_source, "frame_length", None)
    if n_timepoints <= (frame_length or frame_source.input_length) // 2:
        return None
    unmet = unmet_window_needs(params, frame_source, n_channels)
    if unmet:
        raise ValueError(
            f"resample='windows' needs {' and '.join(unmet)}; got source={frame_source.name!r}, "
            f"{n_channels} channel(s), segments={params['segments']}, "
            f"input_length={params['input_length']}. Use resample='auto' otherwise."
        )
    n_windows, window = window_layout(n_timepoints, frame_length, hop)
    if isinstance(params["source"], AcousticSource):
        if n_windows * frame_length != frame_source.input_length:
            raise ValueError(
                f"resample='windows' needs {n_windows} frames of {frame_length} samples for series "
                f"of {n_timepoints} samples; the given {frame_source.name!r} instance takes "
                f"{frame_source.input_length}. Pass the source by name, or build it with "
                f"input_length={n_windows * frame_length}."
            )
        source = frame_source
    else:
        source = get_source(params["source"], input_length=n_windows * frame_length)
    layout = {"series_length": n_timepoints, "segments": n_windows}
    if n_windows > 1:
        layout["window"] = window
    return source, layout


def resolve_auto(params, n_channels=1):
    """``params`` with the ``"auto"`` values of ``head_init``, ``head_learning_rate``, ``views``,
    ``time_scales``, ``program_scales`` and ``refit_head`` decided.

    The one place these defaults are decided (rounds 7, 9 and 12 of the
    accuracy research, docs/accuracy.md). With the linear head the model starts at
    the logistic probe (``head_init="logistic"``), keeps that head
    (``head_learning_rate=0``: only the program trains, against it), reads
    the series and its first difference (``views="series+diff"``), each
    also stretched 4 times (``time_scales="1+4"``) with the programs trained
    on the stretched waveforms only (``program_scales="4"``: round 11 found
    the program's gain there), and once
    the program has trained, refits the head to what the program made of the
    training series (``refit_head=True``; white-box training, which the
    round-9 measurement used; a black-box refit would spend queries).
    The many-to-one mappings have no head to start, keep or refit, and read the
    series alone at its own length (several views or scales need one linear
    head over them, white-box training and no sample-specific mask).
    The stretched copies also need what ``resample="windows"`` needs to
    place a series of any length at its own resolution (a source that frames
    long inputs, CREPE; one segment; no fixed ``input_length``; univariate
    series), where round 12 measured them; otherwise ``time_scales="auto"``
    is ``"1"``. ``program_scales="auto"`` trains the programs of the scales above 1 when
    ``time_scales`` reads the series at scale 1 beside them, and every
    program otherwise. A head that starts at random, or
    a model whose program does not train, trains its head at
    ``learning_rate`` (``head_learning_rate=None``) and is not refitted. Values other than
    ``"auto"`` are kept, so calling it twice changes nothing.

    Parameters
    ----------
    params : dict
        :class:`~voice2series.V2SClassifier` parameters (``get_params()``).
    n_channels : int, default=1
        Channels of the series the model is for.

    Returns
    -------
    dict
        A copy of ``params``.

    Examples
    --------
    >>> from voice2series import V2SClassifier
    >>> resolved = resolve_auto(V2SClassifier().get_params())
    >>> resolved["head_init"], resolved["head_learning_rate"], resolved["views"], resolved["refit_head"]
    ('logistic', 0.0, 'series+diff', True)
    >>> resolved["time_scales"], resolved["program_scales"]
    ('1+4', '4')
    >>> resolved = resolve_auto(V2SClassifier(mapping="random").get_params())
    >>> resolved["head_init"], resolved["head_learning_rate"], resolved["views"], resolved["refit_head"]
    ('random', None, 'series', False)
    >>> resolved["time_scales"], resolved["program_scales"]
    ('1', 'all')
    """
    params = dict(params)
    linear = params["mapping"] == "linear"
    if params.get("head_init", "random") == "auto":
        params["head_init"] = "logistic" if linear else "random"
    if params.get("head_learning_rate") == "auto":
        keep_head = params["head_init"] == "logistic" and params.get("train_program", True)
        params["head_learning_rate"] = 0.0 if keep_head else None
    white_box = params.get("training", "white-box") == "white-box"
    joinable = linear and white_box and not params.get("sample_specific_mask")
    if params.get("views", "series") == "auto":
        params["views"] = "series+diff" if joinable else "series"
    if params.get("time_scales", "1") == "auto":
        params["time_scales"] = "1+4" if joinable and _windows_place_any_length(params, n_channels) else "1"
    if params.get("program_scales", "all") == "auto":
        params["program_scales"] = _stretched_scales(params.get("time_scales", "1"))
    if params.get("refit_head", False) == "auto":
        kept_start = params["head_init"] == "logistic" and params.get("head_learning_rate") == 0
        params["refit_head"] = bool(kept_start and white_box)
    return params


def _windows_place_any_length(params, n_channels):
    """Whether ``resample="windows"`` is asked for and can place a stretched series of any length."""
    source = params.get("source", "crepe-tiny")
    return params.get("resample", "windows") == "windows" and not unmet_window_needs(params, source, n_channels)


def _stretched_scales(time_scales):
    """``program_scales="auto"``: the scales above 1 of ``time_scales`` when it also has 1, else ``"all"``."""
    scales = time_scales_of(time_scales)
    stretched = [scale for scale in scales if scale > 1]
    if 1 in scales and stretched:
        return JOINER.join(map(str, stretched))
    return "all"


def resolve_readout(params, source):
    """The readout a model gets: ``params["readout"]``, with ``"auto"`` decided here.

    ``"auto"`` is ``"inner"`` for a linear head on a source that exposes its
    inner layers (unless ``finetune="last"`` tunes the output layer the inner
    readout skips), and ``"logits"`` otherwise: the many-to-one mappings
    assign the source's output classes, which only the logits have.

    Parameters
    ----------
    params : dict
        :class:`~voice2series.V2SClassifier` parameters.
    source : AcousticSource

    Returns
    -------
    {"logits", "inner", "both"}
    """
    if params["readout"] != "auto":
        return params["readout"]
    reads_inner = params["mapping"] == "linear" and params["finetune"] != "last" and "inner" in source.readouts
    return "inner" if reads_inner else "logits"


def model_on(model, device):
    """``model`` on ``device``: itself when it is there already, else a moved copy.

    ``nn.Module.to`` moves in place; copying keeps a fitted estimator's
    ``model_`` where it was when it is predicted, explained or pickled
    elsewhere.
    """
    tensors = [*model.parameters(), *model.buffers()]
    if all(tensor.device == device for tensor in tensors):
        return model
    return copy.deepcopy(model).to(device)


def uses_early_stopping(early_stopping, n_series):
    """Whether ``early_stopping`` ("auto" or bool) holds out validation data for ``n_series``."""
    if early_stopping == "auto":
        return n_series >= AUTO_EARLY_STOPPING_MIN_SERIES
    return bool(early_stopping)


def validation_split(placed, targets, validation_fraction, rng):
    """Stratified ``(train, validation)`` pairs of tensors, or ``(train, None)``.

    Falls back to no validation split, with a warning, when some class has too
    few series to be split.

    Parameters
    ----------
    placed : torch.Tensor of shape (n_series, input_length)
    targets : torch.Tensor of shape (n_series,)
        Integer class indices.
    validation_fraction : float
    rng : numpy.random.RandomState

    Returns
    -------
    train, validation : tuple of torch.Tensor, tuple of torch.Tensor or None
    """
    labels = targets.cpu().numpy()
    n_classes = labels.max() + 1
    n_validation = int(np.ceil(validation_fraction * len(labels)))
    if np.bincount(labels).min() < 2 or not n_classes <= n_validation <= len(labels) - n_classes:
        warnings.warn(
            f"Too few series per class ({np.bincount(labels).min()} in the smallest) for a "
            f"stratified validation split of {validation_fraction}; training "
            "without early stopping. Pass early_stopping=False to silence this.",
            UserWarning,
            stacklevel=4,
        )
        return (placed, targets), None
    train_index, validation_index = train_test_split(
        np.arange(len(labels)), test_size=n_validation, stratify=labels, random_state=rng.randint(2**31)
    )
    train_index = torch.as_tensor(train_index, device=placed.device)
    validation_index = torch.as_tensor(validation_index, device=placed.device)
    return (placed[train_index], targets[train_index]), (placed[validation_index], targets[validation_index])


def calibrate_mapping(model, train, batch_size, head_init="random", rng=None):
    """Let a mapping that standardises its input (the linear head) see the training data once.

    Parameters
    ----------
    model : ReprogrammedModel
    train : tuple of (torch.Tensor, torch.Tensor)
        Placed training waveforms and their integer targets.
    batch_size : int
    head_init : {"random", "logistic"}, default="random"
        ``"logistic"`` also starts the linear head at a logistic regression
        of the same outputs (:meth:`~voice2series.mapping.LinearMapping.fit_logistic`).
    rng : numpy.random.RandomState, optional
        Draws the seed of the folds that choose the logistic regression's
        penalty (drawn only for ``"logistic"``, so a random start takes the
        same draws as before the option existed).

    Returns
    -------
    torch.Tensor of shape (n_series, n_source_outputs) or None
        The source outputs of the training series it calibrated on (for
        :func:`loss_temperature`); None for a mapping that does not calibrate.
    """
    if not hasattr(model.mapping, "calibrate"):
        return None
    placed, targets = train
    scores = source_outputs(model, placed, batch_size)
    calibrate_on(model, scores)
    if head_init == "logistic":
        seed = None if rng is None else int(rng.randint(2**31))
        model.mapping.fit_logistic(scores, targets, seed)
    return scores


def calibrate_on(model, scores):
    """Standardise the linear head on these source outputs, grouped as the source groups them."""
    model.mapping.calibrate(scores, getattr(model.source, "output_groups", None))


def every_series(train, validation):
    """``(placed, targets)`` of the training series and, when held out, the validation series after them."""
    if validation is None:
        return train
    return torch.cat([train[0], validation[0]]), torch.cat([train[1], validation[1]])


def fit_final_head(model, placed, targets, batch_size, seed, cache=None):
    """Refit the linear head on these series through the kept program: standardised on their outputs, then
    :meth:`~voice2series.mapping.LinearMapping.fit_logistic` (its penalty chosen by CV on them).

    Parameters
    ----------
    model : ReprogrammedModel
        With a linear head; its program (and source) are left as they are.
    placed : torch.Tensor
        Placed waveforms of every series the head should see (with early
        stopping: the training and the validation series).
    targets : torch.Tensor of int, shape (n_series,)
    batch_size : int
    seed : int
        Seed of the folds that choose the logistic regression's penalty.
    cache : optional
        The series cache of ``placed`` (:meth:`ReprogrammedModel.series_cache`).
    """
    scores = source_outputs(model, placed, batch_size, cache)
    calibrate_on(model, scores)
    model.mapping.fit_logistic(scores, targets, seed)


def loss_temperature(mapping, scores, targets):
    """The temperature of ``program_loss="tempered"``: the start's training loss made its held-out loss.

    A logistic start classifies most training series with near certainty
    (round 5 of docs/accuracy.md: its training log loss is 9 to over 50
    times its cross-validated one), so the cross-entropy's gradient back to
    the program comes from the few series it is unsure of. Dividing the
    logits by the temperature at which the start's mean training loss equals
    its cross-validated loss (``mapping.cv_log_loss``) gives every
    training series the weight a held-out one would have. The division keeps
    each series' predicted class, so the head's decisions are unchanged.

    Parameters
    ----------
    mapping : LinearMapping
        The linear head, started by ``fit_logistic``.
    scores : torch.Tensor of shape (n_series, n_source_outputs)
        The source outputs it was fitted to (:func:`calibrate_mapping` returns them).
    targets : torch.Tensor of int, shape (n_series,)

    Returns
    -------
    float
        At least 1: a start already as unsure on its training series as on
        held-out ones, or one without a cross-validated loss (a class with
        a single series), trains on its plain loss.
    """
    held_out_loss = getattr(mapping, "cv_log_loss", None)
    if held_out_loss is None:
        return 1.0
    with torch.no_grad():
        logits = mapping(scores)
    return temperature_for_loss(logits, targets, held_out_loss)


def temperature_for_loss(logits, targets, target_loss):
    """The temperature ``T`` in ``[1, MAX_LOSS_TEMPERATURE]`` at which ``cross_entropy(logits / T)`` is ``target_loss``.

    The loss of a set of mostly correct scores rises with ``T`` towards
    ``log(n_classes)``; the root is found on ``log T`` by Brent's method.
    Bounded: a loss already at or above the target gives 1, a target the
    bound cannot reach gives the bound.
    """

    def excess(log_temperature):
        return F.cross_entropy(logits / np.exp(log_temperature), targets).item() - target_loss

    highest = np.log(MAX_LOSS_TEMPERATURE)
    if excess(0.0) >= 0:
        return 1.0
    if excess(highest) <= 0:
        return MAX_LOSS_TEMPERATURE
    return float(np.exp(brentq(excess, 0.0, highest, xtol=1e-6)))


class FixedMemberCache:
    """A joint model's fixed members' outputs for fixed placed waveforms, computed once.

    Built by :meth:`ReprogrammedModel.series_cache` when the model has
    :meth:`~ReprogrammedModel.fixed_members` (e.g. ``program_scales="1"``
    with ``time_scales="1+4"``: the stretched views are read with their
    program fixed). Their outputs are constants of a fit, so a training step
    runs the source only on the members whose program trains. An empty
    ``stored`` (beyond the storage limit) lets every member run, as without
    a cache.

    Parameters
    ----------
    stored : dict of int to torch.Tensor
        Each fixed member's outputs, ``(n, member n_outputs)``, by member index.
    n_rows : int

    Attributes
    ----------
    stored : dict of int to torch.Tensor
    nbytes : int
    """

    def __init__(self, stored, n_rows):
        self.stored, self.n_rows = stored, n_rows
        self.nbytes = sum(t.numel() * t.element_size() for t in stored.values())

    @classmethod
    def of_waveforms(cls, model, placed, batch_size, members, max_bytes):
        """The fixed ``members``' outputs of ``placed``, run ``batch_size`` rows at a time; none stored
        beyond ``max_bytes``."""
        sources = model.source.members
        row_bytes = 4 * sum(sources[index].n_outputs for index in members)  # float32 outputs
        if row_bytes * len(placed) > max_bytes:
            return cls({}, len(placed))
        skip = set(range(len(sources))) - set(members)
        chunks = []
        with _evaluating(model):
            for index in _chunks(len(placed), batch_size):
                waveforms = model.program.member_waveforms(placed[index], skip=skip)
                chunks.append({member: sources[member](waveforms[member]) for member in members})
        return cls({member: torch.cat([chunk[member] for chunk in chunks]) for member in members}, len(placed))

    @classmethod
    def from_outputs(cls, model, outputs, members):
        """The fixed ``members``' columns of known whole-source outputs ``(n, n_source_outputs)``
        (through the same fixed programs): no source member runs again."""
        columns = torch.split(outputs.detach(), [member.n_outputs for member in model.source.members], dim=1)
        return cls({member: columns[member].clone() for member in members}, len(outputs))

    def __len__(self):
        return self.n_rows

    def rows(self, index):
        """The stored outputs of rows ``index`` (a slice or index tensor), by member."""
        return {member: outputs[index] for member, outputs in self.stored.items()}


class SeriesCache:
    """A source's series part of fixed placed waveforms, computed once.

    Built by :meth:`ReprogrammedModel.series_cache`. When the whole series
    part fits in ``max_bytes`` it is stored; otherwise :meth:`rows` computes
    the rows it is asked for each time.

    Parameters
    ----------
    source : AcousticSource
        With ``additive_split``.
    placed : torch.Tensor of shape (n, input_length)
    batch_size : int
    max_bytes : int

    Attributes
    ----------
    stored : tuple of torch.Tensor or None
        The series part of every row, or None beyond ``max_bytes``.
    nbytes : int
        Bytes held by ``stored`` (0 when None).
    """

    def __init__(self, source, placed, batch_size, max_bytes):
        self.source, self.placed = source, placed
        self.stored, self.nbytes = None, 0
        with torch.no_grad():
            first = source.series_part(placed[:batch_size])
        row_bytes = sum(t[0].numel() * t.element_size() for t in first)
        if row_bytes * len(placed) > max_bytes:
            return
        # Filled in place: concatenating chunks would hold the cache twice.
        self.stored = tuple(t.new_empty((len(placed), *t.shape[1:])) for t in first)
        for start in range(0, len(placed), batch_size):
            with torch.no_grad():
                part = first if start == 0 else source.series_part(placed[start : start + batch_size])
            for whole, chunk in zip(self.stored, part):
                whole[start : start + len(chunk)] = chunk
        self.nbytes = row_bytes * len(placed)

    def __len__(self):
        return len(self.placed)

    def rows(self, index):
        """The series part of ``placed[index]`` (a slice or index tensor)."""
        if self.stored is not None:
            return tuple(t[index] for t in self.stored)
        with torch.no_grad():
            return self.source.series_part(self.placed[index])


def resolve_device(device):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a torch device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, str | torch.device):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}.")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}.") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was asked for but CUDA is not available here; use device='cpu' or device='auto'."
        )
    return resolved


def predict_logits(model, placed, batch_size, pad=True, cache=None):
    """Class scores for pre-placed waveforms, in evaluation mode, without gradients.

    The model's mode (training or evaluation) is the same afterwards.

    Every chunk is zero-padded to ``batch_size`` rows: convolution kernels pick
    their algorithm by batch size, so a fixed size makes a series' scores
    independent of which other series are predicted with it. ``pad=False``
    sends only the series (validation during training, where every source
    call may be a counted query). ``cache``, a
    :meth:`ReprogrammedModel.series_cache` of ``placed``, lets the source
    reuse the series' first layer.
    """
    scores = []
    with _evaluating(model):
        for index in _chunks(len(placed), batch_size):
            chunk, part = placed[index], cached_rows(cache, index)
            missing = batch_size - len(chunk) if pad else 0
            if missing:
                chunk = F.pad(chunk, (0, 0, 0, missing))
                # A zero waveform's series part is zero: pad it the same way
                # (padded rows' scores are dropped, so stored outputs pad alike).
                part = None if part is None else _padded_part(part, missing)
            scores.append(model(chunk, part)[: index.stop - index.start])
    return torch.cat(scores)


def source_outputs(model, placed, batch_size, cache=None):
    """Source scores of placed waveforms through the current program.

    In evaluation mode (no program dropout) and without gradients; used to
    calibrate and refresh label mappings. ``cache`` as in :func:`predict_logits`.
    """
    with _evaluating(model):
        scores = [
            model.source_scores(placed[index], cached_rows(cache, index)) for index in _chunks(len(placed), batch_size)
        ]
    return torch.cat(scores)


@contextlib.contextmanager
def _evaluating(model):
    """Evaluation mode without gradients inside the block; the model's mode is restored after,
    also on an error (an exhausted query budget), so a caller in the middle of training goes on training."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(training)


def _chunks(n_rows, batch_size):
    return [slice(start, min(start + batch_size, n_rows)) for start in range(0, n_rows, batch_size)]


def cached_rows(cache, index):
    """``cache.rows(index)``, or None without a cache (the model then runs the whole source)."""
    return None if cache is None else cache.rows(index)


def _padded_part(part, missing):
    """A cache's rows (tuple of series parts, or dict of member outputs) with ``missing`` zero rows."""
    if isinstance(part, dict):
        return {member: _pad_rows(t, missing) for member, t in part.items()}
    return tuple(_pad_rows(t, missing) for t in part)


def _pad_rows(tensor, missing):
    """``tensor`` with ``missing`` zero rows appended along the first dimension."""
    return torch.cat([tensor, tensor.new_zeros((missing, *tensor.shape[1:]))])


def _evaluate(model, placed, targets, batch_size, cache=None):
    logits = predict_logits(model, placed, batch_size, pad=False, cache=cache)
    loss = F.cross_entropy(logits, targets).item()
    accuracy = (logits.argmax(dim=1) == targets).float().mean().item()
    return loss, accuracy


def is_better(score, best):
    """Higher validation accuracy wins; equal accuracy is broken by lower loss."""
    return best is None or (score[0], -score[1]) > (best[0], -best[1])


def training_options(params):
    """Keyword arguments of :func:`train_model` from :class:`~voice2series.V2SClassifier` parameters.

    Parameters
    ----------
    params : dict
        ``get_params()`` of the estimator.

    Returns
    -------
    dict
    """
    params = resolve_auto(params)
    zeroth_order = None
    if params["training"] == "black-box":
        zeroth_order = {"n_directions": params["zo_queries"], "smoothing": params["zo_smoothing"]}
    return {
        "learning_rate": params["learning_rate"],
        "weight_decay": params["weight_decay"],
        "lr_schedule": params["lr_schedule"],
        "lr_decay": params["lr_decay"],
        "program_l2": params["program_l2"],
        "label_smoothing": params["label_smoothing"],
        "batch_size": params["batch_size"],
        "max_epochs": params["max_epochs"],
        "n_iter_no_change": params["n_iter_no_change"],
        "verbose": params["verbose"],
        "source_learning_rate": params["finetune_learning_rate"],
        "head_learning_rate": params.get("head_learning_rate"),
        # A logistic start is a fitted model: training must beat it on held-out series to replace it.
        "keep_start": params.get("head_init") == "logistic",
        "zeroth_order": zeroth_order,
    }


def train_model(
    model,
    train,
    validation=None,
    *,
    learning_rate,
    weight_decay,
    batch_size,
    max_epochs,
    n_iter_no_change,
    generator,
    lr_schedule="constant",
    label_smoothing=0.0,
    verbose=False,
    source_learning_rate=1e-4,
    zeroth_order=None,
    queries=None,
    lr_decay=0.0,
    program_l2=0.0,
    head_learning_rate=None,
    keep_start=False,
    temperature=1.0,
    start_outputs=None,
):
    """Train the program (and a learnable mapping, and a fine-tuned source) with Adam.

    Parameters
    ----------
    model : ReprogrammedModel
    train : tuple of (torch.Tensor, torch.Tensor)
        Placed training waveforms and integer targets, on the model's device.
    validation : tuple of (torch.Tensor, torch.Tensor), optional
        Held-out waveforms and targets. When given, the epoch with the best
        validation accuracy (ties: lowest validation loss) is restored and
        training stops after ``n_iter_no_change`` epochs without improvement.
        Without it the last epoch is kept.
    learning_rate, weight_decay : float
        Adam's step size and L2 penalty for the program and mapping.
    batch_size, max_epochs, n_iter_no_change : int
    lr_schedule : {"constant", "cosine", "inverse-time"}, default="constant"
        ``"cosine"``: every group's step size follows a cosine from its
        initial value to 0 over ``max_epochs``, stepped once per epoch.
        ``"inverse-time"``: Keras' legacy ``decay``, step ``t`` (0-based,
        counted over mini-batches) uses ``lr / (1 + lr_decay * t)``.
    label_smoothing : float, default=0.0
        Label smoothing of the training cross-entropy (validation loss is
        always the plain cross-entropy).
    generator : torch.Generator
        Shuffles the mini-batches and draws zeroth-order directions.
    verbose : bool
        Show a progress bar over epochs.
    source_learning_rate : float, default=1e-4
        Adam's step size for source parameters that require gradients
        (fine-tuning); no weight decay on them, so they stay near the
        pretrained weights.
    zeroth_order : dict, optional
        Black-box training: ``{"n_directions": q, "smoothing": beta}`` (see
        :mod:`voice2series.blackbox`). ``None``: backpropagation.
    lr_decay : float, default=0.0
        The ``"inverse-time"`` schedule's decay per step.
    program_l2 : float, default=0.0
        Adds ``program_l2 * sum(delta ** 2)`` to every mini-batch's training
        loss (Keras' ``kernel_regularizer=l2(program_l2)``; the reported
        ``train_loss`` includes it, as Keras' does).
    head_learning_rate : float, optional
        Adam's step size for a learnable mapping; None: ``learning_rate``.
    keep_start : bool, default=False
        With ``validation``: the state training starts from is a candidate
        too ("epoch 0"), kept when no epoch beats it on the validation split.
        For a start that is a fitted model (the logistic head start), so
        that training which only hurts on held-out series does not replace it.
    temperature : float, default=1.0
        The training cross-entropy reads ``logits / temperature``
        (``program_loss="tempered"``, :func:`loss_temperature`); predictions,
        validation and the reported losses are the model's own.
    queries : QueryCounter, optional
        Attached to the source by the caller. When its budget runs out,
        training stops with a warning and keeps the best validation epoch
        (or the last completed step's program). Without a complete epoch it
        returns an empty history, silently: the caller decides what that means.
    start_outputs : torch.Tensor of shape (n_train, n_source_outputs), optional
        The source outputs of the training series through the starting
        programs (:func:`calibrate_mapping` returns them): the fixed members'
        cache (:class:`FixedMemberCache`) takes theirs from it instead of
        running them again.

    A mapping with ``refresh_due(epoch)`` and ``refresh(scores, targets)``
    (frequency and Bayesian mappings) is recomputed from the training series
    through the current program at the start of every epoch it asks for.

    When the model :meth:`~ReprogrammedModel.amortises`, the series part of
    the training and validation waveforms is computed once, before the first
    epoch (their caches share ``model.cache_bytes``), and every
    backpropagation step, validation and mapping refresh reuses it.

    Returns
    -------
    history : list of dict
        One entry per epoch: ``epoch``, ``train_loss``, ``train_accuracy``,
        ``val_loss``, ``val_accuracy`` (None without validation), ``queries``
        (source queries so far, None without a counter), ``seconds``.
    best_epoch : int
        The epoch (1-based) whose state the model holds on return.
    """
    placed, targets = train
    train_cache, validation_cache = _series_caches(model, placed, validation, batch_size, zeroth_order, start_outputs)
    optimizer = _make_optimizer(model, learning_rate, weight_decay, source_learning_rate, head_learning_rate)
    scheduler = _make_scheduler(optimizer, lr_schedule, max_epochs, lr_decay)
    history, best_score, best_state, best_epoch = [], None, None, max_epochs
    if keep_start and validation is not None and zeroth_order is None:
        val_loss, val_accuracy = _evaluate(model, *validation, batch_size, validation_cache)
        best_score, best_state, best_epoch = (val_accuracy, val_loss), model.trained_state(), 0
    epochs = tqdm(range(1, max_epochs + 1), desc="fit", unit="epoch", disable=not verbose, leave=False)
    for epoch in epochs:
        started = time.perf_counter()
        try:
            _refresh_mapping(model, placed, targets, batch_size, epoch, train_cache)
            train_loss, train_accuracy = _one_epoch(
                model,
                optimizer,
                placed,
                targets,
                batch_size,
                generator,
                zeroth_order,
                label_smoothing,
                cache=train_cache,
                program_l2=program_l2,
                temperature=temperature,
            )
            scheduler.step()
            record = {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_accuracy": train_accuracy,
                "val_loss": None,
                "val_accuracy": None,
            }
            if validation is not None:
                val_loss, val_accuracy = _evaluate(model, *validation, batch_size, validation_cache)
                record.update(val_loss=val_loss, val_accuracy=val_accuracy)
        except QueryBudgetExhausted as error:
            if history:  # with no complete epoch the caller has nothing to keep
                _warn_budget(error, history, best_state is not None)
            break
        if validation is not None and is_better((val_accuracy, val_loss), best_score):
            best_score, best_state, best_epoch = (val_accuracy, val_loss), model.trained_state(), epoch
        record["queries"] = None if queries is None else queries.count
        record["seconds"] = time.perf_counter() - started
        history.append(record)
        epochs.set_postfix(loss=f"{train_loss:.3f}", val_acc=record["val_accuracy"])
        if validation is not None and epoch - best_epoch >= n_iter_no_change:
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    else:
        best_epoch = len(history)
    return history, best_epoch


def _series_caches(model, placed, validation, batch_size, zeroth_order, start_outputs=None):
    """(train, validation) series caches for one fit; None where they do not apply.

    Black-box training queries the source with perturbed programs itself, so
    it gets none. ``start_outputs``: see :func:`train_model`.
    """
    if zeroth_order is not None:
        return None, None
    train_cache = model.series_cache(placed, batch_size, outputs=start_outputs)
    if train_cache is None or validation is None:
        return train_cache, None
    return train_cache, model.series_cache(validation[0], batch_size, model.cache_bytes - train_cache.nbytes)


def _make_optimizer(model, learning_rate, weight_decay, source_learning_rate, head_learning_rate=None):
    """Adam with groups for the program, the mapping (its own step when given) and a fine-tuned source."""
    own = [(name, p) for name, p in model.named_parameters() if p.requires_grad and not name.startswith("source.")]
    head = [p for name, p in own if name.startswith("mapping.")]
    groups = [{"params": [p for name, p in own if not name.startswith("mapping.")]}]
    if head:
        groups.append({"params": head, **({} if head_learning_rate is None else {"lr": head_learning_rate})})
    tuned = list(model.tuned_source_state().values())
    if tuned:
        groups.append({"params": tuned, "lr": source_learning_rate, "weight_decay": 0.0})
    return torch.optim.Adam(groups, lr=learning_rate, weight_decay=weight_decay)


class _PerStepSchedule:
    """A scheduler stepped by the optimizer after each of its steps; the per-epoch ``step`` does nothing."""

    def __init__(self, scheduler):
        self.scheduler = scheduler

    def step(self):
        pass


def _make_scheduler(optimizer, lr_schedule, max_epochs, lr_decay=0.0):
    if lr_schedule == "inverse-time":
        # Keras' legacy decay: the update after t earlier updates uses lr / (1 + decay * t).
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (1.0 + lr_decay * step))
        optimizer.register_step_post_hook(lambda *args: scheduler.step())
        return _PerStepSchedule(scheduler)
    if lr_schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)
    if lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)
    raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}.")


def _refresh_mapping(model, placed, targets, batch_size, epoch, cache=None):
    mapping = model.mapping
    if hasattr(mapping, "refresh") and mapping.refresh_due(epoch):
        mapping.refresh(source_outputs(model, placed, batch_size, cache), targets)


def _one_epoch(
    model,
    optimizer,
    placed,
    targets,
    batch_size,
    generator,
    zeroth_order,
    label_smoothing,
    cache=None,
    program_l2=0.0,
    temperature=1.0,
):
    if zeroth_order is None:
        return _train_one_epoch(
            model, optimizer, placed, targets, batch_size, generator, label_smoothing, cache, program_l2, temperature
        )
    return zo_train_one_epoch(
        model,
        optimizer,
        placed,
        targets,
        batch_size,
        generator,
        zeroth_order["n_directions"],
        zeroth_order["smoothing"],
        label_smoothing,
    )


def _warn_budget(error, history, has_best):
    kept = "the best validation epoch's program" if has_best else "the program of the last completed step"
    warnings.warn(
        f"{error} Training stopped after {len(history)} complete epoch(s), keeping {kept}. "
        "Raise query_budget, or lower zo_queries or max_epochs, to train longer.",
        UserWarning,
        stacklevel=4,
    )


def _train_one_epoch(
    model,
    optimizer,
    placed,
    targets,
    batch_size,
    generator,
    label_smoothing=0.0,
    cache=None,
    program_l2=0.0,
    temperature=1.0,
):
    return train_one_epoch(
        model,
        optimizer,
        targets,
        lambda batch: model(placed[batch], cached_rows(cache, batch)),
        batch_size,
        generator,
        label_smoothing,
        program_l2,
        temperature,
    )


def program_penalty(model, program_l2):
    """``program_l2 * sum(delta ** 2)``: Keras' ``l2`` kernel regulariser on the program."""
    return program_l2 * model.program.delta.pow(2).sum()


def train_one_epoch(
    model, optimizer, targets, batch_logits, batch_size, generator, label_smoothing=0.0, program_l2=0.0, temperature=1.0
):
    """One shuffled pass of optimizer steps on the cross-entropy of ``batch_logits(batch)``.

    Parameters
    ----------
    model : ReprogrammedModel
        Put in training mode; its program is what ``program_l2`` penalises.
    optimizer : torch.optim.Optimizer
    targets : torch.Tensor of int, shape (n_series,)
    batch_logits : callable
        Index tensor of a mini-batch -> its class scores (with gradients).
    batch_size : int
    generator : torch.Generator
        Shuffles the series.
    label_smoothing, program_l2 : float, default=0.0
    temperature : float, default=1.0
        The cross-entropy reads ``logits / temperature``.

    Returns
    -------
    loss, accuracy : float
        Means over the epoch's series (the loss with the penalty and the temperature).
    """
    model.train()
    order = torch.randperm(len(targets), generator=generator).to(targets.device)
    total_loss, correct = 0.0, 0
    for batch in torch.split(order, batch_size):
        logits = batch_logits(batch)
        loss = F.cross_entropy(logits / temperature, targets[batch], label_smoothing=label_smoothing)
        if program_l2:
            loss = loss + program_penalty(model, program_l2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(batch)
        correct += (logits.argmax(dim=1) == targets[batch]).sum().item()
    return total_loss / len(targets), correct / len(targets)
