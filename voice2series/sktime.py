"""sktime adapter: ``V2SSktimeClassifier``, a ``BaseClassifier`` over ``V2SClassifier``."""

from __future__ import annotations

import numpy as np
from sktime.classification.base import BaseClassifier

from .estimator import V2SClassifier
from .parameters import delegating_init

__all__ = ["V2SSktimeClassifier"]


class V2SSktimeClassifier(BaseClassifier):
    """Voice2Series reprogramming classifier for sktime.

    Takes every sktime panel container (numpy3D, nested DataFrame,
    pd-multiindex, df-list); multivariate series get one waveform segment
    per channel and series of unequal length are each read at their own
    length (or resampled to the longest training series, see
    ``unequal_lengths``). Parameters are those of
    :class:`voice2series.V2SClassifier`, which does the work.

    Examples
    --------
    >>> from sktime.datasets import load_unit_test
    >>> from voice2series.sktime import V2SSktimeClassifier
    >>> X, y = load_unit_test(split="train")
    >>> clf = V2SSktimeClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict(X).shape
    (20,)
    """

    _tags = {
        # df-list first: sktime converts to the first listed mtype that can hold
        # the data, and numpy3D cannot hold series of unequal length.
        "X_inner_mtype": ["df-list", "numpy3D"],
        "y_inner_mtype": "numpy1D",
        "capability:multivariate": True,
        "capability:unequal_length": True,
        "capability:predict_proba": True,
        "capability:random_state": True,
        "property:randomness": "derandomized",
        "python_dependencies": ["torch", "torchaudio", "torchcrepe"],
        "authors": ["voice2series developers"],
        "maintainers": ["voice2series developers"],
    }

    # The parameters are V2SClassifier's, read from its signature: one list.
    __init__ = delegating_init(V2SClassifier, BaseClassifier)
    _estimator_class = V2SClassifier

    def _fit(self, X, y):
        self.estimator_ = self._estimator_class(**self.get_params()).fit(_series(X), y)
        return self

    def _predict(self, X):
        return self.estimator_.predict(_series(X))

    def _predict_proba(self, X):
        return self.estimator_.predict_proba(_series(X))

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny, fast configurations for sktime's estimator checks.

        Returns
        -------
        list of dict
        """
        # The series alone at its own length, no refit: the checks test the adapter's contract, which
        # neither the number of views or time scales nor the refit changes; a second view or scale
        # adds source passes and head features, and the refit repeats the logistic penalty search.
        return [
            {
                "max_epochs": 2,
                "batch_size": 64,
                "random_state": 0,
                "views": "series",
                "time_scales": "1",
                "refit_head": False,
            },
            {"max_epochs": 1, "mapping": "random", "segments": 2, "random_state": 1},
        ]


def _series(X):
    """numpy3D as is; a df-list (one ``(time, channels)`` frame per series) as arrays."""
    if isinstance(X, np.ndarray):
        return X
    return [frame.to_numpy(dtype=np.float64).T for frame in X]
