"""Named configurations chosen by the accuracy research (docs/accuracy.md).

Each preset is a recipe of :class:`~voice2series.V2SClassifier` parameters,
or of ensemble members, whose cost and measured accuracy are documented:

- ``"default"``: ``V2SClassifier()`` (CREPE-tiny, linear head, 100 epochs).
- ``"ensemble"``: soft voting over 5 default models that differ in their seed
  (5x the fit time).
- ``"crepe-speech"``: soft voting over two sources, a CREPE-tiny model (50
  epochs) and the speech-embedding model with the series repeated 20 times
  (30 epochs); about 1.6x the default's fit time on GunPoint
  (benchmarks/preset_cost.py). Best mean 5-fold CV
  accuracy on the training splits in the search.
"""

from __future__ import annotations

from .estimator import V2SClassifier, make_ensemble

__all__ = ["PRESETS", "make_preset"]

# name -> None (a single V2SClassifier) or a list of ensemble member parameters.
PRESETS = {
    "default": None,
    "ensemble": [{}] * 5,
    "crepe-speech": [
        # The epochs it was benchmarked with (docs/accuracy.md).
        {"max_epochs": 50},
        # A 16000-sample input: repeat the series so the model hears it, and
        # shrink only series too long for 20 copies.
        {"source": "speech-embedding", "segments": 20, "resample": "auto", "max_epochs": 30},
    ],
}


def make_preset(name, *, random_state=None, **params):
    """An unfitted estimator configured as the named preset.

    Parameters
    ----------
    name : {"default", "ensemble", "crepe-speech"}
    random_state : int, RandomState instance or None, default=None
        Seed of the model, or of the ensemble members' seeds.
    **params
        :class:`~voice2series.V2SClassifier` parameters on top of the preset's
        (shared by every member; a member's own settings win).

    Returns
    -------
    V2SClassifier or sklearn.ensemble.VotingClassifier

    Examples
    --------
    >>> from voice2series.presets import make_preset
    >>> clf = make_preset("crepe-speech", random_state=0)
    >>> [member.source for _, member in clf.estimators]
    ['crepe-tiny', 'speech-embedding']
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; use one of {sorted(PRESETS)}.")
    members = PRESETS[name]
    if members is None:
        return V2SClassifier(random_state=random_state, **params)
    return make_ensemble(random_state=random_state, member_params=[dict(m) for m in members], **params)
