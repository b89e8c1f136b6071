"""Choosing the source per dataset, on the training series only.

A pitch estimator reads some datasets better than a larger one, and the other
way round (docs/accuracy.md, round 4: CREPE-full's inner statistics win on
ACSF1 and PigCVP, CREPE-tiny's on PickupGestureWiimoteZ), and which one wins
is not known before the data is seen. :class:`SourceChoiceClassifier` fits,
for each candidate source, the delta = 0 linear probe of the configuration
(:data:`PROBE_PARAMS`): a logistic regression of the source's outputs whose
penalty is chosen by stratified k-fold cross-validation on the training
series. The source whose probe has the lowest cross-validated log loss is
kept; every candidate is scored on the same folds (one seed drawn from
``random_state``). The configuration is then fitted on the chosen source,
unless it is the probe itself, which is already fitted.

Cost: one probe fit per candidate source (a source's forward pass over the
training series and a few logistic regressions), plus the configuration's own
fit when it is not the probe.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from .estimator import V2SClassifier

__all__ = ["PROBE_PARAMS", "SourceChoiceClassifier"]

#: The probe: the linear head fitted once by a logistic regression whose
#: penalty is chosen by cross-validation, on every training series; no
#: program (delta = 0) and no epoch. Not V2S: the baseline a program has to beat.
PROBE_PARAMS = {"max_epochs": 0, "head_init": "logistic", "train_program": False}


class SourceChoiceClassifier(ClassifierMixin, BaseEstimator):
    """A V2SClassifier whose source is chosen per dataset by its probe's cross-validated log loss.

    Parameters
    ----------
    estimator : V2SClassifier, default=None
        The configuration to fit on the chosen source (its ``source`` and
        ``random_state`` are replaced). None: the probe itself,
        ``V2SClassifier(**PROBE_PARAMS)``.
    sources : list of str, default=("crepe-tiny", "crepe-full")
        Candidate source names (any ``V2SClassifier(source=...)`` name,
        joined names included), cheapest first: a tie goes to the earlier.
    random_state : int, RandomState instance or None, default=None
        Draws one seed, used as every probe's and the final model's
        ``random_state``, so all candidates are scored on the same folds.

    Attributes
    ----------
    source_ : str
        The chosen source.
    probe_log_loss_ : dict of str to float or None
        Each candidate's probe: mean log loss over the cross-validation folds
        that chose its penalty. None when a class has a single training
        series (no folds): then the first candidate is used, with a warning.
    best_estimator_ : V2SClassifier
        The configuration fitted on ``source_``; predictions come from it.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> from voice2series.datasets import load_ucr
    >>> from voice2series.selection import SourceChoiceClassifier
    >>> X_train, y_train = load_ucr("ItalyPowerDemand", "train")
    >>> clf = SourceChoiceClassifier(sources=["crepe-tiny", "crepe-full"], random_state=0)
    >>> clf.fit(X_train, y_train).source_ in {"crepe-tiny", "crepe-full"}
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba", "set_params"]), None],
        "sources": ["array-like"],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, sources=("crepe-tiny", "crepe-full"), random_state=None):
        self.estimator = estimator
        self.sources = sources
        self.random_state = random_state

    def fit(self, X, y):
        """Fit a probe per candidate source, keep the best, fit the configuration on it.

        Parameters
        ----------
        X : array-like of shape (n_series, n_timepoints)
            Anything :meth:`V2SClassifier.fit` takes.
        y : array-like of shape (n_series,)

        Returns
        -------
        self : SourceChoiceClassifier
        """
        self._validate_params()
        sources = self._checked_sources()
        seed = int(check_random_state(self.random_state).randint(2**31))
        template = clone(self.estimator) if self.estimator is not None else V2SClassifier(**PROBE_PARAMS)
        probes = {name: _probe_of(template, name, seed).fit(X, y) for name in sources}
        losses = {name: probe.head_cv_log_loss_ for name, probe in probes.items()}
        chosen = _lowest_loss(losses)
        final = clone(template).set_params(source=chosen, random_state=seed)
        if final.get_params() == probes[chosen].get_params():
            final = probes[chosen]  # the configuration is the probe: already fitted
        else:
            final.fit(X, y)
        self.source_, self.probe_log_loss_, self.best_estimator_ = chosen, losses, final
        self.classes_ = final.classes_
        self.n_features_in_ = final.n_features_in_
        if hasattr(final, "feature_names_in_"):
            self.feature_names_in_ = final.feature_names_in_
        return self

    def _checked_sources(self):
        sources = list(self.sources)
        if not sources or not all(isinstance(name, str) for name in sources):
            raise ValueError(
                f"sources must be a non-empty list of source names, e.g. ['crepe-tiny', 'crepe-full']; "
                f"got {self.sources!r}."
            )
        if len(set(sources)) < len(sources):
            raise ValueError(f"sources lists a name twice: {sources}. List each candidate once.")
        return sources

    def predict_proba(self, X):
        """Class probabilities from the model on the chosen source.

        Parameters
        ----------
        X : array-like of shape (n_series, n_timepoints)

        Returns
        -------
        ndarray of shape (n_series, n_classes)
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    def predict(self, X):
        """Original class labels from the model on the chosen source.

        Parameters
        ----------
        X : array-like of shape (n_series, n_timepoints)

        Returns
        -------
        ndarray of shape (n_series,)
        """
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @property
    def program_fraction_(self):
        """The chosen model's ``program_fraction_``."""
        return self.best_estimator_.program_fraction_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


def _probe_of(template, source, seed):
    """The template's configuration on ``source`` as a probe (delta = 0, the head fitted once)."""
    return clone(template).set_params(source=source, random_state=seed, **PROBE_PARAMS)


def _lowest_loss(losses):
    """The name of the lowest loss, the first on ties; the first name when no loss was measured."""
    names = list(losses)
    if any(loss is None for loss in losses.values()):
        warnings.warn(
            "A class has a single training series, so the probes could not be cross-validated and "
            f"the sources cannot be compared; using the first, {names[0]!r}. Add training series "
            "to that class, or pass sources=[...] with the one source to use.",
            UserWarning,
            stacklevel=3,
        )
        return names[0]
    return names[int(np.argmin([losses[name] for name in names]))]
