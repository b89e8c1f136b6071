"""sktime adapter: ``V2SSktimeClassifier``, a ``BaseClassifier`` over ``V2SClassifier``."""

from __future__ import annotations

import numpy as np
from sktime.classification.base import BaseClassifier

from .estimator import V2SClassifier

__all__ = ["V2SSktimeClassifier"]


class V2SSktimeClassifier(BaseClassifier):
    """Voice2Series reprogramming classifier for sktime.

    Takes every sktime panel container (numpy3D, nested DataFrame,
    pd-multiindex, df-list); multivariate series get one waveform segment
    per channel and series of unequal length are resampled to the longest
    training series. Parameters are those of
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

    def __init__(
        self,
        source="crepe-tiny",
        input_length=None,
        mapping="linear",
        outputs_per_class=None,
        segments=1,
        placement="start",
        resample=None,
        interpolation="linear",
        amplitude=1.0,
        program_dropout=0.0,
        weight_decay=0.0,
        learning_rate=0.01,
        lr_schedule="constant",
        label_smoothing=0.0,
        batch_size=32,
        max_epochs=100,
        early_stopping="auto",
        validation_fraction=0.2,
        n_iter_no_change=20,
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
    ):
        self.source = source
        self.input_length = input_length
        self.mapping = mapping
        self.outputs_per_class = outputs_per_class
        self.segments = segments
        self.placement = placement
        self.resample = resample
        self.interpolation = interpolation
        self.amplitude = amplitude
        self.program_dropout = program_dropout
        self.weight_decay = weight_decay
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.label_smoothing = label_smoothing
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
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
        super().__init__()

    def _fit(self, X, y):
        self.estimator_ = V2SClassifier(**self.get_params()).fit(_series(X), y)
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
        return [
            {"max_epochs": 2, "batch_size": 64, "random_state": 0},
            {"max_epochs": 1, "mapping": "random", "segments": 2, "random_state": 1},
        ]


def _series(X):
    """numpy3D as is; a df-list (one ``(time, channels)`` frame per series) as arrays."""
    if isinstance(X, np.ndarray):
        return X
    return [frame.to_numpy(dtype=np.float64).T for frame in X]
