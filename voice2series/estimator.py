"""The scikit-learn estimator: ``V2SClassifier``."""

from __future__ import annotations

import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .blackbox import QueryBudgetExhausted, QueryCounter
from .crossfit import cross_fit_options, train_cross_fitted
from .mapping import HEAD_INITS, MAPPING_REDUCTIONS, MAPPINGS
from .program import INTERPOLATIONS, PLACEMENTS, PROGRAM_INITS, RESAMPLE_RULES, VIEWS
from .series_input import UNEQUAL_LENGTHS, check_series
from .sources import JOINER, AcousticSource, member_names, source_names
from .training import (
    FINETUNES,
    LR_SCHEDULES,
    PROGRAM_LOSSES,
    READOUTS,
    TRAININGS,
    build_model,
    calibrate_mapping,
    every_series,
    fit_final_head,
    loss_temperature,
    model_on,
    predict_logits,
    program_scales_of,
    resolve_auto,
    resolve_device,
    time_scales_of,
    train_model,
    training_options,
    uses_early_stopping,
    validation_split,
)

__all__ = ["PREDICT_CHUNK", "V2SClassifier"]

# Series placed and scored at once by predict_proba: bounds its memory.
PREDICT_CHUNK = 4096


class SourceNames(StrOptions):
    """The ``source`` names: a registered name, or several joined by ``"+"``."""

    def is_satisfied_by(self, val):
        return isinstance(val, str) and all(name in self.options for name in val.split(JOINER))

    def __str__(self):
        return f"{super().__str__()}, or several of them joined by {JOINER!r}"


class TimeScales(StrOptions):
    """The ``time_scales`` values: different positive integers joined by ``"+"`` (:func:`time_scales_of`)."""

    def __init__(self):
        super().__init__(set())

    def is_satisfied_by(self, val):
        try:
            time_scales_of(val)
        except ValueError:
            return False
        return True

    def __str__(self):
        return f"different positive integers joined by {JOINER!r}, such as '1' or '1+4'"


class ViewNames(StrOptions):
    """The ``views`` values: one view, or different views joined by ``"+"``."""

    def is_satisfied_by(self, val):
        if not isinstance(val, str):
            return False
        names = val.split(JOINER)
        return all(name in self.options for name in names) and len(set(names)) == len(names)

    def __str__(self):
        return f"{super().__str__()}, or different ones joined by {JOINER!r}"


class V2SClassifier(ClassifierMixin, BaseEstimator):
    """Time series classifier that reprograms a frozen acoustic model.

    Each univariate series is (optionally) resampled, placed ``segments``
    times into a zero waveform of the source model's input length, and a
    learnable program ``delta`` is added everywhere the series is not. The
    waveform goes through the frozen source model; a label mapping turns its
    outputs into class scores. Only ``delta`` (and a linear head, with
    ``mapping="linear"``) are trained (Yang, Tsai & Chen, "Voice2Series",
    ICML 2021).

    Parameters
    ----------
    source : str or AcousticSource, default="crepe-tiny"
        The frozen acoustic model: a name from
        :func:`voice2series.sources.source_names` (``python cli.py sources``
        lists them), a source instance, or any torch module wrapped by
        :func:`voice2series.sources.from_module`. Several names joined by
        ``"+"`` (``"crepe-tiny+crepe-full"``) build one model over all of
        them: each source gets the series placed by the same rules and its
        own program, and one linear head reads their outputs side by side
        (:class:`voice2series.sources.JointSource`; ``mapping="linear"``).
    input_length : int, optional
        Waveform length fed to a named source; defaults to the source's own
        (1024 samples, one frame, for CREPE). Longer inputs are framed and the
        frame outputs averaged.
    mapping : {"linear", "random", "sequential", "flm", "ilm", "blm", "blm++"}, default="linear"
        From source outputs to classes. ``"random"``: the paper's many-to-one
        mapping of disjoint random source outputs per class, class score =
        mean of their logits. ``"sequential"``: the same with outputs taken in
        order (the official code). ``"linear"``: a learnable linear head.
        ``"flm"``: frequency label mapping, each class gets the source
        outputs most often top-ranked for its training series through the
        initial program (Tsai et al. 2020; Chen et al. 2023). ``"ilm"``: the
        same, recomputed every ``mapping_update_every`` epochs through the
        current program (Chen et al. 2023). ``"blm"``/``"blm++"``:
        Bayesian-guided probabilistic mapping, recomputed every
        ``mapping_update_every`` epochs (Cai et al. 2024); see
        ``docs/variants.md``.
    readout : {"auto", "logits", "inner", "both"}, default="auto"
        What of the frozen source the mapping reads. ``"auto"``: ``"inner"``
        for the linear head on a source with inner layers (CREPE), else
        ``"logits"`` (:func:`voice2series.training.resolve_readout`; the
        round-3 choice by cross-validation, docs/accuracy.md). ``"logits"``: its
        outputs (the paper's setting). ``"inner"``: per-channel statistics
        (mean, max, smooth share of positive values) of every inner block's
        pre-activation output, pooled over time
        (:meth:`voice2series.sources.CrepeSource.frame_features`); the program
        is trained through them. ``"both"``: the outputs and the inner
        statistics side by side. ``"inner"`` and ``"both"`` go beyond the
        paper's output-only mapping; they need ``mapping="linear"`` and a
        source that exposes its inner layers (CREPE).
    views : {"auto", "series", "series+diff", "diff"}, default="auto"
        What the source reads of each series. ``"auto"``: ``"series+diff"``
        with the linear head (white-box, no sample-specific mask), else
        ``"series"`` (:func:`voice2series.training.resolve_auto`; the
        round-7 choice by cross-validation, docs/accuracy.md). ``"series"``:
        the series itself (the paper's setting). ``"diff"``: its first difference,
        scaled to unit standard deviation per series
        (:func:`voice2series.program.series_view`). ``"series+diff"``: both,
        each placed in its own waveform by the same rules with its own
        program, one linear head over both views' outputs (as for a joint
        source; ``mapping="linear"``); it costs two source passes per
        series. Reading the difference goes beyond the paper; MultiRocket
        (Tan et al. 2022) reads it beside the series for the same reason:
        shape changes the series' own values hide.
    time_scales : str, default="auto"
        How many times longer than itself each view is read: different
        positive integers joined by ``"+"``, or ``"auto"``: ``"1+4"`` with
        ``mapping="linear"``, white-box training, no sample-specific mask, and
        univariate series that ``resample="windows"`` places at any length
        (a source that frames long inputs such as CREPE, one segment, no
        fixed ``input_length``), else ``"1"`` (:func:`voice2series.training.resolve_auto`; round 12's
        default, docs/accuracy.md). ``"1"``: the series at its own
        length. ``"k"``: stretched ``k`` times by linear interpolation
        before it is placed (by ``resample``'s rule, so with ``"windows"``
        a long stretched series takes about ``k / 2`` times the windows and
        the source passes with its windows end to end, the default, and
        ``k`` times with half-window hops; see ``stretched_window_hop``).
        Several (``"1+4"``): each view at each scale in its own
        waveform with its own program, one linear head over all (as for
        several views; ``mapping="linear"``), at the sum of their source
        passes. The frozen filters keep their length while the series
        stretches: the reverse of ROCKET's dilation, which spreads the
        kernels over the series instead. Goes beyond the paper.
    program_scales : str, default="auto"
        Which of ``time_scales`` get a trained program: ``"all"``, some
        of them joined by ``"+"`` (``"1"`` with ``time_scales="1+4"``), or
        ``"auto"``: the scales above 1 when ``time_scales`` also has 1
        (``"4"`` with ``"1+4"``), else ``"all"``. The
        others keep their program at its start (``program_init``, zeros by
        default) and are read as fixed features: their source outputs are
        computed once per fit instead of forward and backward every step,
        so a stretched view costs about one pass of the series instead of
        one per epoch (:class:`voice2series.training.FixedMemberCache`).
        With ``"1"`` beside ``time_scales="1+4"`` the trained program added
        nothing over δ = 0 in round 11's cross-validation, where training
        every program added 0.010 and training the stretched ones alone
        (``"4"``, the default since round 12) 0.007 (docs/accuracy.md).
    stretched_window_hop : float, default=1.0
        With ``resample="windows"``, the share of a window between the
        starts of neighbouring windows in the stretched copies
        (``time_scales`` above 1), in ``(0, 1]``. 1.0 (the default since
        round 13): end to end, about half the windows and source passes of
        those copies that 0.5 takes; 0.5: they overlap by about half, as at
        scale 1 (rounds 10-12). In round 13's cross-validation 1.0 scored
        level with 0.5 in half the fit time (docs/accuracy.md;
        :func:`voice2series.program.window_layout`,
        :func:`voice2series.training.window_hop`).
    head_init : {"auto", "random", "logistic"}, default="auto"
        How the linear head starts. ``"auto"``: ``"logistic"`` with
        ``mapping="linear"``, else ``"random"``
        (:func:`voice2series.training.resolve_auto`). ``"random"``: uniform weights.
        ``"logistic"``: an L2 logistic regression of the training series'
        source outputs through the initial program (the head's probe,
        penalty chosen by cross-validation on the training series), which
        training then refines together with the program. With early
        stopping the start is a candidate epoch (0): it is kept unless an
        epoch beats it on the validation split. Needs ``mapping="linear"``.
    outputs_per_class : int, optional
        Source outputs per class for the many-to-one mappings; default
        ``n_outputs // n_classes`` for random/sequential, 1 for flm/ilm.
    mapping_reduction : {"logits", "probabilities"}, default="logits"
        What the many-to-one mappings (random, sequential, flm, ilm) average
        over a class's source outputs. ``"logits"``: the mean logit is the
        class score. ``"probabilities"``: the official code's
        ``multi_mapping``, class ``c`` gets ``q_c``, the mean softmax
        probability (softmax over all source outputs) of its outputs; the loss
        is ``-log(q_y / sum_c q_c)``, Keras' categorical cross-entropy on
        ``q`` (see :class:`voice2series.mapping.ManyToOneMapping`).
    segments : int, default=1
        Copies of the series at identical intervals in the waveform.
    placement : {"start", "centre"}, default="start"
        Where each copy sits inside its segment.
    resample : None, "fit", "auto", "windows" or int, default="windows"
        ``None`` keeps the series as is; ``"fit"`` stretches or shrinks it
        to half its segment; ``"auto"`` keeps it when it takes at most half
        its segment and shrinks it to half when it is longer; ``"windows"``
        keeps every series at its own resolution: one longer than half a
        source frame is cut into half-frame windows overlapping by about
        half, each in its own frame with the program around it, and the
        source's outputs are averaged over the frames (CREPE, univariate,
        one segment; costs one frame per window,
        :func:`voice2series.program.window_layout`); a series that fits in
        half a frame is placed as with ``"auto"``; an int is the target
        length. The program always keeps room: a resampled series
        takes at most half of its segment (until round 2, ``"fit"`` filled
        the whole segment and left the program nothing), and a length that
        leaves the program less than a quarter of the waveform is refused
        (see :func:`voice2series.program.series_length_in_waveform`).
    interpolation : {"linear", "sinc"}, default="linear"
        How to resample (see :func:`voice2series.program.resample_series`).
    unequal_lengths : {"own", "resample"}, default="own"
        How a collection of series of different lengths (a list, a nested
        DataFrame) is read. ``"own"`` (the default since round 15): each
        keeps its own resolution and is placed as the longest would be,
        with nothing after its end; windows wholly past its end are left
        out of the source's average over frames
        (:class:`voice2series.sources.CrepeSource`), so a series is read
        as it would be alone. A series longer than the training length is
        resampled to it when predicting. Not with a sample-specific mask.
        ``"resample"`` (until round 14): each series is linearly resampled
        to the longest training series, as the UCR archive's equal-length
        versions are; a short series is stretched, which lowers every
        frequency the source hears in it. Series of one length are read
        alike either way. Goes beyond the paper (round 15,
        docs/accuracy.md).
    amplitude : float, default=1.0
        Factor on the series before it is placed in the waveform. For a
        source that normalises its input (CREPE scales each frame to unit
        variance) this only sets how large the program is against the series:
        with Adam, amplitude ``a`` acts like a program learning rate of
        ``learning_rate / a`` while the head keeps ``learning_rate``. For a
        spectrogram source it is also the loudness of the series.
    program_dropout : float, default=0.0
        Dropout probability on the program during training.
    program_init : {"zeros", "glorot"}, default="zeros"
        The program's initial value: zero, or Glorot-uniform in
        ``[-b, b]``, ``b = sqrt(6 / (input_length + 1))`` (the official
        code's Keras initialiser on a ``(input_length, 1)`` weight).
    program_knot_spacing : int, default=1
        Waveform samples between the program's learnable values. 1: one
        value per sample (the paper's program). ``s > 1``: values every
        ``s`` samples or so, linearly interpolated between (about ``1 / s``
        of the degrees of freedom: a smooth program that cannot fit each
        training series on its own). White-box training only.
    program_l2 : float, default=0.0
        Adds ``program_l2 * sum(delta ** 2)`` to every mini-batch's loss
        (the official code's Keras ``l2(0.05)`` regulariser on the program;
        unlike ``weight_decay``, it goes through Adam's scaling).
    weight_decay : float, default=0.0
        Adam's L2 penalty on the program (and head).
    learning_rate : float, default=0.01
        Adam's step size (the paper used 0.05 with a fixed many-to-one
        mapping; the learnable head trains better at 0.01).
    head_learning_rate : float, "auto" or None, default="auto"
        Adam's step size for the learnable head alone; None: ``learning_rate``;
        ``"auto"``: 0 for a logistic start whose program trains (only the
        program trains, against the probe's head: the round-7 default), else
        None (:func:`voice2series.training.resolve_auto`).
        The inner readout gives the head 816 inputs, whose class scores move
        by many step sizes per step (docs/accuracy.md, round 3). ``0`` keeps
        the head where it started: with ``head_init="logistic"``, only the
        program trains, against the logistic probe's head.
    lr_schedule : {"constant", "cosine", "inverse-time"}, default="constant"
        ``"cosine"`` anneals the step size from ``learning_rate`` to 0 over
        ``max_epochs`` (one step per epoch). ``"inverse-time"`` is Keras'
        legacy ``decay``: the update after ``t`` earlier mini-batch updates
        uses ``learning_rate / (1 + lr_decay * t)``.
    lr_decay : float, default=0.48
        Decay per mini-batch of the ``"inverse-time"`` schedule (0.48 in the
        official code); ignored by the other schedules.
    label_smoothing : float, default=0.0
        Label smoothing of the cross-entropy loss, in [0, 1).
    batch_size : int, default=32
        Series per mini-batch (and per source call when predicting).
    max_epochs : int, default=30
        Passes over the training series (100 until round 7 of the accuracy
        research, which measured its default at 30). ``0`` trains nothing: with
        ``head_init="logistic"`` (which it needs) the model is the logistic
        probe of the source's outputs through the initial program, fitted on
        every training series (no validation split), in seconds.
    early_stopping : "auto" or bool, default="auto"
        ``True``: hold out a stratified ``validation_fraction`` of the
        training data, keep the epoch with the best validation accuracy
        (ties: lower validation loss) and stop after ``n_iter_no_change``
        epochs without improvement; falls back to the last epoch, with a
        warning, when some class has too few series to split. ``False``:
        train on all the data for ``max_epochs``. ``"auto"``: on when there
        are at least 200 training series. On small training sets a
        validation split of a few series both costs training data and picks
        the epoch by noise (5-fold CV on the training splits of GunPoint, 50
        series: 0.92 without, 0.86-0.88 with).
    validation_fraction : float, default=0.2
        Share of the training series held out when early stopping is on.
    n_iter_no_change : int, default=20
        Early stopping: epochs without a better validation score before
        training stops.
    refit_head : "auto" or bool, default="auto"
        Once training has kept its epoch, replace the linear head by a
        logistic regression (its penalty chosen by CV, as the logistic start
        is) of the source outputs, through the kept program, of every
        training series, the validation split's included
        (:func:`voice2series.training.fit_final_head`). ``False``: keep the
        head training ended with (with ``head_learning_rate=0``, the logistic
        start, fitted through δ = 0 on the series training used).
        ``"auto"``: ``True`` for that kept start with white-box training, the
        round-9 default (5-fold CV on six training splits: 0.833 against
        0.821 without the refit), else ``False``
        (:func:`voice2series.training.resolve_auto`). ``True`` needs
        ``mapping="linear"``; ``program_loss="cross-fitted"`` always ends
        this way, and a model that trained no epoch keeps its start. The
        refitted head is an unsmoothed logistic regression, so
        ``label_smoothing`` then shapes the program only.
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    random_state : int, RandomState instance or None, default=None
        Controls the validation split, the label mapping, the head's
        initialisation, the folds of the logistic penalty searches (start
        and refit), batch order and program dropout (and the mask
        network's initialisation and the black-box search directions).
    verbose : bool, default=False
        Show a progress bar over epochs (and over chunks of series when predicting).
    mapping_update_every : int, default=1
        Epochs between recomputations of the ilm, blm and blm++ mappings.
    blm_lambda : float, default=1.0
        Laplace smoothing of the blm/blm++ mapping matrix.
    blm_topk_ratio : float, default=0.15
        blm++: each training series adds its probabilities of its top
        ``ceil(blm_topk_ratio * n_outputs)`` source outputs.
    training : {"white-box", "black-box"}, default="white-box"
        ``"white-box"``: backpropagate through the source. ``"black-box"``:
        use the source's outputs only and estimate the program's gradient
        from ``zo_queries`` random perturbations (BAR, Tsai, Chen & Ho, ICML
        2020); works with any source, also a function such as a remote API
        (:func:`voice2series.sources.from_function`). A linear head still
        gets its exact gradient. Not combinable with ``finetune``,
        ``sample_specific_mask`` or ``program_dropout``.
    zo_queries : int, default=10
        Black-box: random directions ``q`` per mini-batch; a step costs
        ``(q + 1) * batch`` queries.
    zo_smoothing : float, default=0.1
        Black-box: perturbation size ``beta``.
    query_budget : int, optional
        Black-box: most queries (series sent to the source, calibration,
        mapping refreshes and validation included) that ``fit`` may use;
        training then stops with a warning and keeps the best validation
        epoch, or the last step's program.
    finetune : {"none", "last", "all"}, default="none"
        Also train source weights (Yen et al. 2021): ``"last"``, its last
        layer(s) (:meth:`~voice2series.sources.AcousticSource.last_layers`,
        CREPE's ``classifier``), or ``"all"``. ``"none"`` leaves the source
        bit-identical. Batch-norm statistics are never updated. Tuned weights
        are saved with the model.
    finetune_learning_rate : float, default=1e-4
        Adam's step size for fine-tuned source weights.
    sample_specific_mask : bool, default=False
        Scale the program per series with a small CNN of the placed waveform
        (sample-specific masks, Cai et al., ICML 2024); see
        :class:`voice2series.program.SampleMaskNet`.
    train_program : bool, default=True
        Learn the program. ``False`` keeps ``delta`` at zero, so only the head
        (or fine-tuned source weights) train: a linear probe of the source's
        outputs, the control that measures what the program adds. Needs
        ``mapping="linear"`` or ``finetune``.
    program_loss : {"train", "tempered", "cross-fitted"}, default="train"
        What the program learns from. ``"train"``: the training series' loss
        under the head trained with it. ``"tempered"``: that loss with the
        logits divided by the temperature at which the logistic start's
        training loss equals its cross-validated loss
        (:func:`voice2series.training.loss_temperature`), so that series the
        start already classifies with certainty still move the program;
        predictions use the head as it is (the fitted temperature is
        ``loss_temperature_``). Needs ``head_init="logistic"`` and white-box
        training. ``"cross-fitted"``: each series' loss
        under a logistic head fitted without it (5 stratified folds drawn
        once, the heads refitted every epoch); the epoch with the lowest cross-fitted
        log loss is kept (epoch 0, the start, included), then the head is
        fitted on every series as ``head_init="logistic"`` fits it
        (:func:`voice2series.crossfit.train_cross_fitted`). Needs
        ``head_init="logistic"``; trains no head by Adam (``head_learning_rate``
        and ``label_smoothing`` do not apply). ``early_stopping="auto"``
        holds out no validation split for it (the cross-fitted loss chooses
        the epoch); ``True`` chooses the epoch on a validation split instead,
        series neither the program nor the heads trained on, and fits the
        final head on all series. Its delta = 0 twin is the logistic probe (``max_epochs=0``,
        ``train_program=False``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The original class labels.
    n_features_in_ : int
        Length of the training series.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    model_ : ReprogrammedModel
        Program, frozen source and mapping as one torch module.
    program_ : ndarray of shape (input_length,)
        The learned program as it acts on the waveform (``mask * delta``;
        with ``sample_specific_mask`` each series further scales it by its
        own mask).
    mask_ : ndarray of shape (input_length,)
        1 where the program acts, 0 where the series sits.
    program_fraction_ : float
        Share of the waveform's samples where the program acts (mean of
        ``mask_``); at least 0.25 by construction.
    readout_ : {"logits", "inner", "both"}
        What the mapping reads (``readout="auto"`` resolved).
    mapping_ : ndarray of shape (n_classes, n_source_outputs)
        Weight of each source output in each class score.
    history_ : list of dict
        Per epoch: train/validation loss and accuracy, seconds.
    best_epoch_ : int
        The epoch whose state the model holds; 0: the start (no epochs, or
        a logistic start that no epoch beat on the validation split).
    n_queries_ : int
        Series sent to the source during ``fit`` (each call on one series is
        one query; in white-box mode a query also includes a backward pass).
    head_cv_log_loss_ : float or None
        With ``head_init="logistic"``: the logistic start's mean log loss over
        the cross-validation folds that chose its penalty, on the series it
        was fitted to; None otherwise, or when a class had a single series.
    loss_temperature_ : float
        What the training loss divided the logits by: 1 except with
        ``program_loss="tempered"``.

    Examples
    --------
    >>> from voice2series import V2SClassifier
    >>> from voice2series.datasets import load_ucr
    >>> X_train, y_train = load_ucr("ItalyPowerDemand", "train")
    >>> clf = V2SClassifier(max_epochs=5, random_state=0).fit(X_train, y_train)
    >>> clf.predict(X_train[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "source": [SourceNames(set(source_names())), HasMethods(["forward", "freeze"])],
        "input_length": [Interval(Integral, 1, None, closed="left"), None],
        "mapping": [StrOptions(set(MAPPINGS))],
        "readout": [StrOptions(set(READOUTS))],
        "views": [StrOptions({"auto"}), ViewNames(set(VIEWS))],
        "time_scales": [StrOptions({"auto"}), TimeScales()],
        "program_scales": [StrOptions({"auto", "all"}), TimeScales()],
        "stretched_window_hop": [Interval(Real, 0, 1, closed="right")],
        "head_init": [StrOptions({"auto", *HEAD_INITS})],
        "outputs_per_class": [Interval(Integral, 1, None, closed="left"), None],
        "mapping_reduction": [StrOptions(set(MAPPING_REDUCTIONS))],
        "segments": [Interval(Integral, 1, None, closed="left")],
        "placement": [StrOptions(set(PLACEMENTS))],
        "resample": [StrOptions(set(RESAMPLE_RULES)), Interval(Integral, 1, None, closed="left"), None],
        "interpolation": [StrOptions(set(INTERPOLATIONS))],
        "unequal_lengths": [StrOptions(set(UNEQUAL_LENGTHS))],
        "amplitude": [Interval(Real, 0, None, closed="neither")],
        "program_dropout": [Interval(Real, 0, 1, closed="left")],
        "program_init": [StrOptions(set(PROGRAM_INITS))],
        "program_knot_spacing": [Interval(Integral, 1, None, closed="left")],
        "program_l2": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "head_learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left"), None],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "lr_decay": [Interval(Real, 0, None, closed="left")],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "refit_head": ["boolean", StrOptions({"auto"})],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "mapping_update_every": [Interval(Integral, 1, None, closed="left")],
        "blm_lambda": [Interval(Real, 0, None, closed="left")],
        "blm_topk_ratio": [Interval(Real, 0, 1, closed="right")],
        "training": [StrOptions(set(TRAININGS))],
        "zo_queries": [Interval(Integral, 1, None, closed="left")],
        "zo_smoothing": [Interval(Real, 0, None, closed="neither")],
        "query_budget": [Interval(Integral, 1, None, closed="left"), None],
        "finetune": [StrOptions(set(FINETUNES))],
        "finetune_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "sample_specific_mask": ["boolean"],
        "train_program": ["boolean"],
        "program_loss": [StrOptions(set(PROGRAM_LOSSES))],
    }

    def __init__(
        self,
        source="crepe-tiny",
        *,
        input_length=None,
        mapping="linear",
        readout="auto",
        views="auto",
        time_scales="auto",
        program_scales="auto",
        stretched_window_hop=1.0,
        head_init="auto",
        outputs_per_class=None,
        mapping_reduction="logits",
        segments=1,
        placement="start",
        resample="windows",
        interpolation="linear",
        unequal_lengths="own",
        amplitude=1.0,
        program_dropout=0.0,
        program_init="zeros",
        program_knot_spacing=1,
        program_l2=0.0,
        weight_decay=0.0,
        learning_rate=0.01,
        head_learning_rate="auto",
        lr_schedule="constant",
        lr_decay=0.48,
        label_smoothing=0.0,
        batch_size=32,
        max_epochs=30,
        early_stopping="auto",
        validation_fraction=0.2,
        n_iter_no_change=20,
        refit_head="auto",
        device="auto",
        random_state=None,
        verbose=False,
        mapping_update_every=1,
        blm_lambda=1.0,
        blm_topk_ratio=0.15,
        training="white-box",
        zo_queries=10,
        zo_smoothing=0.1,
        query_budget=None,
        finetune="none",
        finetune_learning_rate=1e-4,
        sample_specific_mask=False,
        train_program=True,
        program_loss="train",
    ):
        self.source = source
        self.input_length = input_length
        self.mapping = mapping
        self.readout = readout
        self.views = views
        self.time_scales = time_scales
        self.program_scales = program_scales
        self.stretched_window_hop = stretched_window_hop
        self.head_init = head_init
        self.outputs_per_class = outputs_per_class
        self.mapping_reduction = mapping_reduction
        self.segments = segments
        self.placement = placement
        self.resample = resample
        self.interpolation = interpolation
        self.unequal_lengths = unequal_lengths
        self.amplitude = amplitude
        self.program_dropout = program_dropout
        self.program_init = program_init
        self.program_knot_spacing = program_knot_spacing
        self.program_l2 = program_l2
        self.weight_decay = weight_decay
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.refit_head = refit_head
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.mapping_update_every = mapping_update_every
        self.blm_lambda = blm_lambda
        self.blm_topk_ratio = blm_topk_ratio
        self.training = training
        self.zo_queries = zo_queries
        self.zo_smoothing = zo_smoothing
        self.query_budget = query_budget
        self.finetune = finetune
        self.finetune_learning_rate = finetune_learning_rate
        self.sample_specific_mask = sample_specific_mask
        self.train_program = train_program
        self.program_loss = program_loss

    def fit(self, X: ArrayLike, y: ArrayLike) -> V2SClassifier:
        """Learn the input program (and head) on labelled series.

        Parameters
        ----------
        X : array-like of shape (n_series, n_timepoints) or (n_series, n_channels, n_timepoints)
            A numpy array, a DataFrame whose rows are series, or a list of
            sequences. Series of different lengths (a list of 1-D or
            ``(n_channels, length)`` arrays, or sktime's nested DataFrame)
            are each read at their own length, or linearly resampled to the
            longest one (``unequal_lengths``).
        y : array-like of shape (n_series,)
            Class labels of any type.

        Returns
        -------
        self : V2SClassifier
        """
        # Any failure or interruption (Ctrl-C) restores the estimator as it
        # was: unfitted, or fitted as before, never half-fitted.
        previous = dict(self.__dict__)
        try:
            return self._fit(X, y)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y):
        X, y = check_series(self, X, y, reset=True)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"y has 1 class ({encoder.classes_[0]!r}); classification needs at least "
                "2 classes. Check that y holds the labels of every training series."
            )
        params = resolve_auto(self.get_params(), n_channels=X.shape[1])
        self._check_variant_params(params)
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        # Torch's global generator initialises layers and drives dropout: seed
        # it from random_state, and restore the caller's state afterwards.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(int(rng.randint(2**31)))
            model = build_model(params, X.shape[1:], len(encoder.classes_), rng).to(device)
            placed = self._placed(model, X).to(device)
            targets = torch.as_tensor(encoder.transform(y), device=device)
            train, validation = (placed, targets), None
            cross_fitted = self.program_loss == "cross-fitted"
            if self.max_epochs and self._holds_out_validation(len(targets)):
                train, validation = validation_split(placed, targets, self.validation_fraction, rng)
            queries = QueryCounter(self.query_budget)
            with queries.attached(model.source):
                scores = self._calibrate(model, train, queries, rng, params["head_init"])
                generator = torch.Generator().manual_seed(int(rng.randint(2**31)))
                temperature = self._loss_temperature(model.mapping, scores, train[1])
                if cross_fitted:
                    history, best_epoch = train_cross_fitted(
                        model,
                        train,
                        generator=generator,
                        validation=validation,
                        cache=model.series_cache(train[0], self.batch_size),
                        **cross_fit_options(params),
                    )
                else:
                    history, best_epoch = train_model(
                        model,
                        train,
                        validation,
                        generator=generator,
                        queries=queries,
                        temperature=temperature,
                        start_outputs=scores,
                        **training_options(params),
                    )
                if self._refits_head(params, history):
                    self._refit(model, train, validation, rng)
        if not history and self.max_epochs:
            raise ValueError(
                f"query_budget={self.query_budget} ran out before the first epoch finished "
                f"({queries.count} queries used); one epoch needs about "
                f"{len(train[1]) * (self.zo_queries + 2)}. Raise query_budget."
            )
        # Fitted attributes are set only once training has finished, so an
        # interrupted fit leaves the estimator as it was.
        self.classes_ = encoder.classes_
        self.n_channels_, self.n_timepoints_ = X.shape[1:]
        self.model_ = model.eval()
        self.history_ = history
        self.best_epoch_ = best_epoch
        self.n_queries_ = queries.count
        self.head_cv_log_loss_ = getattr(model.mapping, "cv_log_loss", None)
        self.loss_temperature_ = temperature
        return self

    def _loss_temperature(self, mapping, scores, targets):
        if self.program_loss != "tempered":
            return 1.0
        return loss_temperature(mapping, scores, targets)

    def _calibrate(self, model, train, queries, rng, head_init):
        """The head calibrated (and started) on the training series; returns their source outputs."""
        try:
            return calibrate_mapping(model, train, self.batch_size, head_init, rng)
        except QueryBudgetExhausted as error:
            raise ValueError(
                f"{error} Calibrating the linear head alone needs {len(train[0])} queries (one per "
                "training series); raise query_budget."
            ) from error

    def _refits_head(self, params, history):
        """Whether fit ends by refitting the head on every training series (``refit_head``, resolved).

        Not after a cross-fitted program (which always does), nor when no epoch ran (the start is that head)."""
        return bool(params["refit_head"]) and self.program_loss != "cross-fitted" and bool(history)

    def _refit(self, model, train, validation, rng):
        """The head refitted on the training and validation series through the kept program (inside fit's
        query counter, which counts its source pass)."""
        placed, targets = every_series(train, validation)
        try:
            fit_final_head(model, placed, targets, self.batch_size, int(rng.randint(2**31)))
        except QueryBudgetExhausted as error:
            raise ValueError(
                f"{error} Refitting the head (refit_head={self.refit_head!r}) needs {len(targets)} more "
                "queries (one per training series); raise query_budget or pass refit_head=False."
            ) from error

    def _check_variant_params(self, params):
        """Refuse combinations of the variant parameters that cannot work together.

        ``params``: :func:`~voice2series.training.resolve_auto` of ``get_params()``, whose
        ``"auto"`` values are decided."""
        black_box = self.training == "black-box"
        if not self.train_program and self.mapping != "linear" and self.finetune == "none":
            raise ValueError(
                f"train_program=False leaves nothing to train with mapping={self.mapping!r}; use "
                "mapping='linear' (a head on the source outputs) or a finetune scope."
            )
        if self.readout in ("inner", "both") and self.mapping != "linear":
            raise ValueError(
                f"readout={self.readout!r} gives the source's inner statistics, which have no "
                f"pitch classes to assign; mapping={self.mapping!r} maps output classes. Use "
                "mapping='linear' with it, or readout='logits'."
            )
        if self.refit_head is True and self.mapping != "linear":
            raise ValueError(
                f"refit_head=True refits a linear head by logistic regression; mapping={self.mapping!r} has none. "
                "Use mapping='linear' with it, or refit_head=False."
            )
        if params["head_init"] != "random" and self.mapping != "linear":
            raise ValueError(
                f"head_init={params['head_init']!r} starts a linear head; mapping={self.mapping!r} has none. "
                "Use mapping='linear' with it, or head_init='random'."
            )
        if member_names(self.source) is not None or JOINER in params["views"] or JOINER in params["time_scales"]:
            self._check_joint_params(params["views"], params["time_scales"])
        program_scales_of(params["program_scales"], params["time_scales"])
        if self.program_loss == "cross-fitted":
            self._check_cross_fitted_params(params["head_init"])
        if self.program_loss == "tempered" and (params["head_init"] != "logistic" or black_box):
            raise ValueError(
                f"program_loss='tempered' reads its temperature off the logistic start and divides the "
                f"logits of backpropagation steps by it; it needs head_init='logistic' (got "
                f"{params['head_init']!r}) with mapping='linear', and training='white-box' (got "
                f"{self.training!r}). Otherwise use program_loss='train'."
            )
        if self.max_epochs == 0 and params["head_init"] != "logistic":
            raise ValueError(
                f"max_epochs=0 trains nothing, so the model is its starting point; head_init="
                f"{params['head_init']!r} starts from an untrained head. Use head_init='logistic' with "
                "mapping='linear' (the logistic probe), or max_epochs >= 1."
            )
        if self.readout == "inner" and self.finetune == "last":
            raise ValueError(
                "finetune='last' tunes the source's output layer, which readout='inner' does not "
                "read; use readout='both' or 'logits', or finetune='all'."
            )
        if self.query_budget is not None and not black_box:
            raise ValueError(
                "query_budget limits black-box training; pass training='black-box' with it, or leave query_budget=None."
            )
        conflicts = {
            "finetune": self.finetune != "none",
            "sample_specific_mask": bool(self.sample_specific_mask),
            "program_dropout": self.program_dropout > 0,
            "program_l2": self.program_l2 > 0,
            "program_knot_spacing": self.program_knot_spacing > 1,
            "train_program": not self.train_program,
        }
        for name, conflict in conflicts.items():
            if black_box and conflict:
                raise ValueError(
                    f"training='black-box' cannot be combined with {name}={getattr(self, name)!r}: "
                    "the source is only queried, so only the program and the head can learn, and "
                    "the zeroth-order estimate compares one mini-batch under perturbed programs "
                    f"(no dropout). Use training='white-box', or the default {name}."
                )
        source = self.source
        if isinstance(source, AcousticSource) and not source.differentiable and not black_box:
            raise ValueError(
                f"The {source.name!r} source is a function without gradients "
                "(from_function); reprogram it with training='black-box'."
            )

    def _check_joint_params(self, views, time_scales):
        """A joint source, several views or several time scales: one linear head over the members'
        outputs, programs trained by backpropagation."""
        conflicts = {
            "mapping": self.mapping != "linear",
            "training": self.training != "white-box",
            "sample_specific_mask": bool(self.sample_specific_mask),
        }
        joined = next(
            f"{name}={value!r}"
            for name, value in (("source", self.source), ("views", views), ("time_scales", time_scales))
            if JOINER in str(value)
        )
        for name, conflict in conflicts.items():
            if conflict:
                raise ValueError(
                    f"{joined} joins several waveforms (sources, views or time scales) under one linear head, trained "
                    f"by backpropagation with one program per waveform; {name}={getattr(self, name)!r} "
                    f"does not apply to it. Use the default {name}, or soft voting over one model per "
                    "source, view or scale (voice2series.presets.make_ensemble)."
                )

    def _holds_out_validation(self, n_series):
        """Whether fit holds out a validation split: early stopping's rule, except that a cross-fitted
        program takes one only when asked (early_stopping=True); "auto" leaves its epoch to the
        cross-fitted loss, as round 6 measured it."""
        if self.program_loss == "cross-fitted":
            return not isinstance(self.early_stopping, str) and bool(self.early_stopping)
        return uses_early_stopping(self.early_stopping, n_series)

    def _check_cross_fitted_params(self, head_init):
        """program_loss='cross-fitted': logistic heads on held-out folds, the program trained by backpropagation."""
        needs = {
            "head_init='logistic'": head_init == "logistic",
            "mapping='linear'": self.mapping == "linear",
            "training='white-box'": self.training == "white-box",
            "finetune='none'": self.finetune == "none",
            "train_program=True": bool(self.train_program),
        }
        unmet = [need for need, met in needs.items() if not met]
        if unmet:
            raise ValueError(
                f"program_loss='cross-fitted' trains the program by backpropagation through logistic "
                f"heads fitted on other folds, and fits the model's head the same way; it needs "
                f"{' and '.join(unmet)}. Its delta = 0 twin is the probe: max_epochs=0, "
                "head_init='logistic', train_program=False. Otherwise use program_loss='train'."
            )

    @property
    def program_(self) -> np.ndarray:
        """The learned program as it acts on the waveform, ``mask * delta``."""
        return self.model_.program.program()

    @property
    def mask_(self) -> np.ndarray:
        """1 where the program acts, 0 where the series sits, ``(input_length,)``."""
        return self.model_.program.mask.cpu().numpy().astype(np.float64)

    @property
    def program_fraction_(self):
        """Share of waveform samples where the program acts (the mean of ``mask_``)."""
        return float(self.mask_.mean())

    @property
    def readout_(self):
        """What the mapping reads: ``readout`` with ``"auto"`` resolved."""
        return getattr(self.model_.source, "readout", "logits")

    @property
    def mapping_(self) -> np.ndarray:
        """Weight of each source output in each class score, ``(n_classes, n_source_outputs)``."""
        return self.model_.mapping.matrix(self.model_.source.n_outputs)

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted model to one file that loads without unpickling code.

        Parameters
        ----------
        path : str or path-like

        See Also
        --------
        voice2series.persistence : the file format.
        """
        from .persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> V2SClassifier:
        """Load a model written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        V2SClassifier
            The fitted classifier; it predicts exactly as the saved one did.
        """
        from .persistence import load_model

        return load_model(path, cls)

    def placed_waveforms(self, X: ArrayLike) -> torch.Tensor:
        """Series placed into zero waveforms as the fitted model places them, before the program.

        Parameters
        ----------
        X : array-like
            Series like those seen in ``fit``.

        Returns
        -------
        torch.Tensor of shape (n_series, input_length)
            float32, on the CPU; ``model_(placed)`` gives the class scores.
        """
        check_is_fitted(self)
        X, _ = check_series(self, X, reset=False)
        return self._placed(self.model_, X).cpu()

    def _placed(self, model, X):
        # NaN marks the ends of series read at their own length (check_series).
        if self.sample_specific_mask and np.isnan(X).any():
            raise ValueError(
                "unequal_lengths='own' reads series of different lengths with nothing after their ends, "
                "which the sample-specific mask network cannot read. Use sample_specific_mask=False, or "
                "unequal_lengths='resample'."
            )
        return model.program.place_series(X, self.interpolation, self.amplitude)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (softmax of the class scores).

        Series are placed and scored ``PREDICT_CHUNK`` at a time, so memory
        beyond the input does not grow with the number of series.

        Parameters
        ----------
        X : array-like of shape (n_series, n_timepoints) or (n_series, n_channels, n_timepoints)
            Series like those seen in ``fit``. A collection of series of
            different lengths is read as ``fit`` read it (``unequal_lengths``);
            a series longer than the training length is resampled to it.

        Returns
        -------
        ndarray of shape (n_series, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        X, _ = check_series(self, X, reset=False)
        model = model_on(self.model_, self._predict_device())
        chunk = max(PREDICT_CHUNK // self.batch_size, 1) * self.batch_size
        probabilities = []
        starts = tqdm(range(0, len(X), chunk), desc="predict", unit="chunk", disable=not self.verbose, leave=False)
        with torch.inference_mode():
            for start in starts:
                logits = predict_logits(model, self._placed(model, X[start : start + chunk]), self.batch_size)
                probabilities.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
        return np.concatenate(probabilities) if probabilities else np.empty((0, len(self.classes_)))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted class labels, as found in the training ``y``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_timepoints)

        Returns
        -------
        ndarray of shape (n_series,)
        """
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def _predict_device(self):
        """The fit device, or the CPU with a warning when it is not here (a GPU model
        loaded on a CPU-only machine)."""
        try:
            return resolve_device(self.device)
        except ValueError:
            warnings.warn(
                f"device={self.device!r} is not available here; predicting on the CPU.",
                UserWarning,
                stacklevel=3,
            )
            return torch.device("cpu")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

    @classmethod
    def _get_test_params(cls):
        """Small, fast parameters for tests (aeon/sktime convention).

        Each view at its own length only: the stretched copies of the
        default (``time_scales="auto"``) cost about twice the source passes
        of every fit, and the contract the checks test does not depend on
        them; tests of the time scales set them.
        """
        return {"max_epochs": 10, "batch_size": 64, "random_state": 0, "time_scales": "1"}
