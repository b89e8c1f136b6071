"""Named configurations chosen by the accuracy research (docs/accuracy.md).

Each preset is a recipe of :class:`~voice2series.V2SClassifier` parameters,
or of ensemble members, whose cost and measured accuracy are documented:

- ``"default"``: ``V2SClassifier()`` (CREPE-tiny reading the series and its
  first difference, long series in windows at their own resolution; the
  linear head on the inner statistics starts at the logistic probe and
  stays there while the program trains, 30 epochs at most, round 7, and is
  refitted after, round 9; each view also read stretched 4 times, the
  programs trained on the stretched waveforms only, round 12, whose
  windows sit end to end, round 13; series of different lengths each read
  at their own length, round 15).
- ``"ensemble"``: soft voting over 5 models of round 1's default (CREPE's
  logits, long series shrunk, 100 epochs, a random head) that differ in
  their seed.
- ``"crepe-speech"``: soft voting over two sources, a CREPE-tiny model (50
  epochs) and the speech-embedding model with the series repeated 20 times
  (30 epochs); about 1.6x the default's fit time on GunPoint
  (benchmarks/preset_cost.py). Best mean 5-fold CV
  accuracy on the training splits in the search.
- ``"probe"``: not V2S, no program: a logistic regression of CREPE-tiny's
  inner statistics of the series as placed (delta = 0), its penalty chosen
  by cross-validation on the training series (``max_epochs=0``,
  ``head_init="logistic"``, ``train_program=False``); seconds per fit. The
  baseline a trained program has to beat (docs/accuracy.md, round 4).
- ``"probe-diff"``: not V2S: the probe on the series and its first
  difference (``views="series+diff"``), about twice the probe's time; the
  best preset of round 7 (docs/accuracy.md).
- ``"probe-scales"``: not V2S: the probe on the series and its first
  difference, each also stretched 4 times (``time_scales="1+4"``); 1.5
  times the time of ``"probe-diff"`` on GunPoint, about 4 times on long
  series, whose stretched copies take 4 times the windows; the best preset
  of round 10 (docs/accuracy.md).
- ``"program-scales"``: V2S: the default with a program trained in every
  waveform, the unstretched ones too (``time_scales="1+4"``,
  ``program_scales="all"``), the stretched copies' windows end to end as
  in the default (round 14), series of different lengths stretched to the
  longest as until round 14; the highest cross-validated mean of the six
  training splits (round 14), at about 1.6 times the default's fit on
  GunPoint (docs/accuracy.md, rounds 10-14).
- ``"probe-auto"``: not V2S either: the probe on CREPE-tiny or CREPE-full,
  whichever probe has the lower cross-validated log loss on the training
  series (:class:`~voice2series.selection.SourceChoiceClassifier`); costs
  both probes, so about CREPE-full's probe time (docs/accuracy.md, round 5).
- ``"paper"``: V2S_a of the paper as close as this library runs it
  (:data:`PAPER_PARAMS`, docs/reproduction.md); costly (an AttRNN on
  16,000-sample waveforms, 100 epochs). For reproduction, not for accuracy:
  with the ``attrnn-synth`` stand-in and the official regularisers it stays
  near chance on Coffee, GunPoint and ItalyPowerDemand
  (benchmarks/results/reproduction/).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.ensemble import VotingClassifier
from sklearn.utils import check_random_state

from .estimator import V2SClassifier
from .selection import PROBE_PARAMS, SourceChoiceClassifier

__all__ = [
    "PAPER_DIFFERENCES",
    "PAPER_PARAMS",
    "PREVIOUS_DEFAULT",
    "PRESETS",
    "PROBE_PARAMS",
    "ROUND3_DEFAULT",
    "ROUND7_DEFAULT",
    "ROUND9_DEFAULT",
    "ROUND12_DEFAULT",
    "ROUND14_DEFAULT",
    "SourceChoice",
    "make_ensemble",
    "make_preset",
]

#: V2S_a as the official code (huckiyang/Voice2Series-Reprogramming) trains it,
#: element by element; docs/reproduction.md says where each value comes from.
PAPER_PARAMS = {
    # Stand-in for the paper's AttRNN trained on Speech Commands (36 outputs):
    # the same architecture trained here on espeak-ng keywords (37 outputs).
    "source": "attrnn-synth",
    # multi_mapping: the first mapping_num * n_classes source outputs in order,
    # mapping_num = 1 (--mapping default); mean softmax probability per class.
    "mapping": "sequential",
    "outputs_per_class": 1,
    "mapping_reduction": "probabilities",
    # SegZeroPadding1D with --seg 1 (default): the series at sample 0 of a
    # zero 16,000-sample waveform, never resampled.
    "segments": 1,
    "placement": "start",
    "resample": None,
    # ARTLayer: Glorot-uniform kernel, l2(0.05) regulariser, dropout 0.4 (--dr 4).
    "program_init": "glorot",
    "program_l2": 0.05,
    "program_dropout": 0.4,
    # Adam(lr=0.05, decay=0.48), batch 32, 100 epochs (--eps).
    "learning_rate": 0.05,
    "lr_schedule": "inverse-time",
    "lr_decay": 0.48,
    "weight_decay": 0.0,
    "batch_size": 32,
    "max_epochs": 100,
    # The last epoch is kept (EarlyStopping(patience=500) never fires in 100
    # epochs and restores nothing); no validation split is carved out.
    "early_stopping": False,
}

#: What the "paper" preset still does differently from the official code.
PAPER_DIFFERENCES = (
    "source: an AttRNN trained on espeak-ng keywords (attrnn-synth, 37 outputs), not the "
    "paper's Speech Commands model (36 outputs, weights not published)",
    "mask: applied (the program never overwrites the series, as in the paper's formula); the "
    "official ARTLayer builds the mask but returns x + dropout(W)",
    "dropout on the program: training only; the official K.dropout in ARTLayer.call is also "
    "active when the model is evaluated, so its test predictions are stochastic",
    "loss: no clipping of the renormalised mapped probabilities at 1e-7 (Keras clips)",
    "Adam epsilon 1e-8 (torch) instead of 1e-7 (Keras)",
    "labels: LabelEncoder on the original labels; the first official release applies "
    "y %= n_classes when the smallest label is not 0, which merges the classes of datasets "
    "labelled {-1, 1} (voice2series.reproduction.official_label_audit)",
    "model selection: the last epoch (training data only); the official script reports the "
    "best epoch's test accuracy (reproduce it, labelled, with python cli.py reproduce)",
    "framework: PyTorch, not TensorFlow/Keras with kapre spectrogram layers",
)


@dataclass(frozen=True)
class SourceChoice:
    """A preset that chooses its source per dataset (:class:`SourceChoiceClassifier`)."""

    sources: tuple
    params: dict


#: V2SClassifier's defaults before round 15 of the accuracy research (issue 15)
#: where round 15 changed them: series of different lengths stretched to the
#: longest (round 14's default is ``{**ROUND14_DEFAULT}`` on top of today's).
ROUND14_DEFAULT = {"unequal_lengths": "resample"}
#: V2SClassifier's defaults before round 13 where rounds 13 and 15 changed
#: them: the stretched copies' windows half a window apart, as at scale 1
#: (round 12's default is ``{**ROUND12_DEFAULT}`` on top of today's).
ROUND12_DEFAULT = {**ROUND14_DEFAULT, "stretched_window_hop": 0.5}
#: V2SClassifier's defaults before round 12 where rounds 12 and 13 changed them:
#: each view read at its own length only (round 9's default is
#: ``{**ROUND9_DEFAULT}`` on top of today's).
ROUND9_DEFAULT = {**ROUND12_DEFAULT, "time_scales": "1", "program_scales": "all"}
#: V2SClassifier's defaults before round 9 where rounds 9 and 12 changed them:
#: the head kept as training ended, each view at its own length.
ROUND7_DEFAULT = {**ROUND9_DEFAULT, "refit_head": False}
#: V2SClassifier's defaults before round 7 where rounds 7, 9 and 12 changed them:
#: 100 epochs, a random head trained at the program's step size, the series
#: alone at its own length, no refit. Configurations measured before round 7 keep their meaning
#: with these.
ROUND3_DEFAULT = {
    **ROUND7_DEFAULT,
    "max_epochs": 100,
    "head_init": "random",
    "head_learning_rate": None,
    "views": "series",
}
#: V2SClassifier's default until round 3, as the bench ran it: CREPE's
#: logits, a long series shrunk to half a frame.
PREVIOUS_DEFAULT = {**ROUND3_DEFAULT, "readout": "logits", "resample": "auto"}
#: The probe as round 4 measured it: the series alone, stretched to the longest.
PROBE_SERIES = {**PROBE_PARAMS, **ROUND14_DEFAULT, "views": "series", "time_scales": "1"}
# name -> None (a single default V2SClassifier), a dict (a single V2SClassifier
# with these parameters), a SourceChoice, or a list of ensemble member parameters.
PRESETS = {
    "default": None,
    # Measured with variable-length series stretched to the longest, like every preset but the
    # default (rounds 2-14, ROUND14_DEFAULT).
    "paper": {**PAPER_PARAMS, **ROUND14_DEFAULT},
    "probe": PROBE_SERIES,
    "probe-auto": SourceChoice(("crepe-tiny", "crepe-full"), PROBE_SERIES),
    "probe-diff": {**PROBE_PARAMS, **ROUND14_DEFAULT, "views": "series+diff", "time_scales": "1"},
    # Measured with the stretched windows half a window apart (rounds 10-11).
    "probe-scales": {**PROBE_PARAMS, **ROUND12_DEFAULT, "views": "series+diff", "time_scales": "1+4"},
    # Measured with them end to end, today's default (round 14; rounds 10-11
    # measured it half a window apart, ROUND12_DEFAULT).
    "program-scales": {**ROUND14_DEFAULT, "views": "series+diff", "time_scales": "1+4", "program_scales": "all"},
    # Presets keep the configuration they were measured with.
    "ensemble": [PREVIOUS_DEFAULT] * 5,
    "crepe-speech": [
        # The epochs it was benchmarked with (docs/accuracy.md).
        {**PREVIOUS_DEFAULT, "max_epochs": 50},
        # A 16000-sample input: repeat the series so the model hears it, and
        # shrink only series too long for 20 copies.
        {**ROUND3_DEFAULT, "source": "speech-embedding", "segments": 20, "resample": "auto", "max_epochs": 30},
    ],
}


def make_preset(name: str, *, random_state=None, **params) -> V2SClassifier | VotingClassifier | SourceChoiceClassifier:
    """An unfitted estimator configured as the named preset.

    Parameters
    ----------
    name : {"default", "ensemble", "crepe-speech", "paper", "probe", "probe-auto", "probe-diff", "probe-scales", \
            "program-scales"}
    random_state : int, RandomState instance or None, default=None
        Seed of the model, or of the ensemble members' seeds.
    **params
        :class:`~voice2series.V2SClassifier` parameters on top of the preset's
        (shared by every member; a member's own settings win).

    Returns
    -------
    V2SClassifier, sklearn.ensemble.VotingClassifier or SourceChoiceClassifier

    Examples
    --------
    >>> from voice2series.presets import make_preset
    >>> clf = make_preset("crepe-speech", random_state=0)
    >>> [member.source for _, member in clf.estimators]
    ['crepe-tiny', 'speech-embedding']
    >>> paper = make_preset("paper", random_state=0)
    >>> paper.source, paper.mapping_reduction, paper.lr_schedule
    ('attrnn-synth', 'probabilities', 'inverse-time')

    The ``"paper"`` preset (:data:`PAPER_PARAMS`) still differs from the
    official code in :data:`PAPER_DIFFERENCES`.
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; use one of {sorted(PRESETS)}.")
    members = PRESETS[name]
    if members is None:
        return V2SClassifier(random_state=random_state, **params)
    if isinstance(members, dict):
        return V2SClassifier(random_state=random_state, **{**members, **params})
    if isinstance(members, SourceChoice):
        if "source" in params:
            raise ValueError(
                f"The {name!r} preset chooses the source among {list(members.sources)}; drop source="
                f"{params['source']!r}, or use SourceChoiceClassifier(sources=[...]) for other candidates."
            )
        estimator = V2SClassifier(**{**members.params, **params})
        return SourceChoiceClassifier(estimator, sources=list(members.sources), random_state=random_state)
    return make_ensemble(random_state=random_state, member_params=[dict(m) for m in members], **params)


def make_ensemble(
    n_members: int | None = None, *, random_state=None, member_params: list[dict] | None = None, **params
) -> VotingClassifier:
    """A soft-voting ensemble of V2SClassifiers.

    Each member learns its own program (and head) from its own initialisation,
    validation split and mini-batch order; ``predict_proba`` averages the
    members' probabilities. Fitting costs the sum of the members' fits.

    Parameters
    ----------
    n_members : int, default=None
        Number of reprogrammed models that differ only in their seed; 5 when
        neither it nor ``member_params`` is given.
    random_state : int, RandomState instance or None, default=None
        Draws the members' seeds; an int makes the whole ensemble reproducible.
    member_params : list of dict, default=None
        One dict of :class:`V2SClassifier` parameters per member, on top of
        ``params``: an ensemble over different sources or settings, e.g.
        ``[{}, {"source": "speech-embedding", "segments": 20}]``.
        ``n_members``, when also given, must equal its length.
    **params
        :class:`V2SClassifier` parameters shared by every member.

    Returns
    -------
    sklearn.ensemble.VotingClassifier
        Unfitted; members are named ``v2s_0``, ``v2s_1``, ...

    Examples
    --------
    >>> from voice2series.presets import make_ensemble
    >>> ensemble = make_ensemble(3, random_state=0, max_epochs=5)
    >>> [name for name, _ in ensemble.estimators]
    ['v2s_0', 'v2s_1', 'v2s_2']
    >>> mixed = make_ensemble(member_params=[{}, {"source": "speaker-encoder"}], random_state=0)
    >>> [clf.source for _, clf in mixed.estimators]
    ['crepe-tiny', 'speaker-encoder']
    """
    member_params = _member_params(n_members, member_params)
    if random_state is None:
        seeds = [None] * len(member_params)
    else:
        seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=len(member_params))
        seeds = [int(seed) for seed in seeds]
    members = [
        (f"v2s_{i}", V2SClassifier(**{"random_state": seed, **params, **own}))
        for i, (seed, own) in enumerate(zip(seeds, member_params, strict=True))
    ]
    return VotingClassifier(members, voting="soft")


def _member_params(n_members, member_params):
    """One parameter dict per ensemble member."""
    if n_members is not None and (isinstance(n_members, bool) or not isinstance(n_members, Integral) or n_members < 1):
        raise ValueError(f"n_members must be a positive integer, got {n_members!r}.")
    if member_params is None:
        return [{}] * (5 if n_members is None else n_members)
    if isinstance(member_params, dict) or not all(isinstance(own, dict) for own in member_params):
        raise ValueError(
            "member_params must be a list of dicts, one per member, e.g. "
            "[{}, {'source': 'speech-embedding', 'segments': 20}]."
        )
    if not member_params or (n_members is not None and n_members != len(member_params)):
        raise ValueError(
            f"member_params has {len(member_params)} entries but n_members={n_members}; "
            "pass one dict per member and leave n_members out."
        )
    return list(member_params)
