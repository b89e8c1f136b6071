"""Label mappings: from the source model's outputs to the target classes."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from torch import nn

__all__ = [
    "HEAD_INITS",
    "MAPPINGS",
    "MAPPING_REDUCTIONS",
    "BayesianMapping",
    "FrequencyMapping",
    "LinearMapping",
    "ManyToOneMapping",
    "bayesian_counts",
    "bayesian_matrix",
    "class_rows",
    "frequency_counts",
    "greedy_assignment",
    "make_mapping",
]

MAPPINGS = ("random", "sequential", "linear", "flm", "ilm", "blm", "blm++")
# How a many-to-one mapping turns a class's source outputs into its score.
MAPPING_REDUCTIONS = ("logits", "probabilities")
# Mappings recomputed from the training data by ``refresh`` during training.
REFRESHED = ("flm", "ilm", "blm", "blm++")
# How the linear head starts: random weights, or a logistic regression fitted
# to the training series seen through the initial program.
HEAD_INITS = ("random", "logistic")
# Inverse L2 penalties the logistic start chooses from by cross-validation.
LOGISTIC_CS = np.logspace(-3, 2, 6)


class ManyToOneMapping(nn.Module):
    """Fixed many-to-one mapping: each class owns ``k`` disjoint source outputs.

    With ``reduction="logits"`` the class score is the mean of the
    **logits** (pre-activation scores) of its source outputs; a softmax over
    class scores then gives probabilities. Logits rather than probabilities
    are averaged by default because sources such as CREPE have independent
    sigmoid outputs, not a softmax.

    With ``reduction="probabilities"`` (the official V2S code's
    ``multi_mapping``) the source scores go through a softmax over **all**
    source outputs, and class ``c`` gets ``q_c``, the mean probability of its
    outputs. ``forward`` returns ``log q``, so a softmax over classes
    (``predict_proba``, the cross-entropy loss) gives ``q / sum(q)``: the
    loss is ``-log(q_y / sum_c q_c)``, which is what Keras'
    ``categorical_crossentropy`` computes on the official model's mapped
    probabilities (it renormalises its input to sum to 1; its clipping at
    1e-7 is not reproduced).

    Parameters
    ----------
    assignment : array-like of int, shape (n_classes, k)
        Row ``c`` lists the source outputs that serve class ``c``.
    reduction : {"logits", "probabilities"}, default="logits"
        What is averaged over a class's source outputs.
    """

    def __init__(self, assignment, reduction="logits"):
        super().__init__()
        if reduction not in MAPPING_REDUCTIONS:
            raise ValueError(f"reduction must be one of {MAPPING_REDUCTIONS}, got {reduction!r}.")
        self.reduction = reduction
        self.register_buffer("assignment", torch.as_tensor(np.asarray(assignment), dtype=torch.long))

    def forward(self, source_scores):
        if self.reduction == "probabilities":
            mapped = torch.softmax(source_scores, dim=1)[:, self.assignment].mean(dim=-1)
            # The floor keeps log finite when every chosen output underflows.
            return torch.log(mapped.clamp_min(1e-30))
        return source_scores[:, self.assignment].mean(dim=-1)

    def matrix(self, n_source):
        """``(n_classes, n_source)`` array with ``1/k`` where an output serves a class."""
        n_classes, k = self.assignment.shape
        weights = np.zeros((n_classes, n_source))
        rows = np.repeat(np.arange(n_classes), k)
        weights[rows, self.assignment.cpu().numpy().ravel()] = 1.0 / k
        return weights


class LinearMapping(nn.Linear):
    """A learnable linear head on standardised source logits.

    Source logits can sit far from zero with a small spread (CREPE's are about
    -6 +- 1.5), which saturates a freshly initialised head and makes Adam's
    steps on it erratic. :meth:`calibrate` fixes a per-output shift and scale
    from the training data seen through the initial program, like a
    ``StandardScaler`` in front of the head.
    """

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.register_buffer("shift", torch.zeros(in_features))
        self.register_buffer("scale", torch.ones(in_features))
        #: Mean log loss of the logistic start over the folds that chose its
        #: penalty (:meth:`fit_logistic`); None until then, or without folds.
        self.cv_log_loss = None
        #: The inverse L2 penalty :meth:`fit_logistic` chose (None until then).
        self.logistic_C = None

    def calibrate(self, source_scores, groups=None):
        """Standardise each source output with these scores' mean and std.

        Parameters
        ----------
        source_scores : torch.Tensor of shape (n_series, in_features)
            Source logits of the training series through the initial program.
        groups : torch.Tensor of int, shape (in_features,), optional
            Outputs on a comparable scale (a source's ``output_groups``, e.g.
            one statistic of one inner layer); the floor on the scale is set
            per group. None: one group.
        """
        self.shift.copy_(source_scores.mean(dim=0))
        # The floor keeps outputs that barely vary over the training data
        # (a short series moves few samples of the waveform) from being blown
        # up once the program starts to move them.
        if groups is None:
            floor = 0.1 * float(source_scores.std()) + 1e-6
        else:
            groups = torch.as_tensor(groups, device=source_scores.device)
            floor = torch.zeros(source_scores.shape[1], device=source_scores.device)
            for group in torch.unique(groups):
                members = groups == group
                floor[members] = 0.1 * float(source_scores[:, members].std()) + 1e-6
        self.scale.copy_(source_scores.std(dim=0).clamp_min(floor))

    def fit_logistic(self, source_scores, targets, random_state=None):
        """Start the head at an L2 logistic regression of the standardised scores.

        The penalty is chosen from :data:`LOGISTIC_CS` by stratified k-fold
        cross-validation on these series (``k`` = 5, or the size of the
        smallest class when it is smaller; log loss decides). With fewer than
        two series in some class there is nothing to cross-validate, and
        ``C = 1`` is used. Call :meth:`calibrate` first: the regression sees
        the scores as the head does. The chosen penalty's mean log loss over
        the folds is kept in ``cv_log_loss`` (None without folds): the score
        by which :class:`~voice2series.selection.SourceChoiceClassifier`
        compares sources.

        Parameters
        ----------
        source_scores : torch.Tensor of shape (n_series, in_features)
            Source outputs of the training series through the initial program.
        targets : torch.Tensor of int, shape (n_series,)
            Their classes, ``0 .. out_features - 1``.
        random_state : int, optional
            Shuffles the cross-validation folds.
        """
        features = self.standardised(source_scores).detach().cpu().double().numpy()
        labels = targets.detach().cpu().numpy()
        smallest = np.bincount(labels, minlength=self.out_features)[np.unique(labels)].min()
        model = LogisticRegression(C=1.0, max_iter=2000)
        self.cv_log_loss = None
        if smallest >= 2:
            folds = StratifiedKFold(min(5, int(smallest)), shuffle=True, random_state=random_state)
            search = GridSearchCV(model, {"C": LOGISTIC_CS}, scoring="neg_log_loss", cv=folds).fit(features, labels)
            model, self.cv_log_loss = search.best_estimator_, -float(search.best_score_)
        else:
            model.fit(features, labels)
        self.logistic_C = float(model.C)
        weight, bias = class_rows(model.coef_, model.intercept_, model.classes_, self.out_features)
        with torch.no_grad():
            self.weight.copy_(torch.as_tensor(weight, dtype=self.weight.dtype))
            self.bias.copy_(torch.as_tensor(bias, dtype=self.bias.dtype))

    def standardised(self, source_scores):
        """The scores as the head reads them: shifted and scaled by :meth:`calibrate`'s statistics."""
        return (source_scores - self.shift) / self.scale

    def forward(self, source_scores):
        return super().forward(self.standardised(source_scores))

    def matrix(self, n_source):
        """The head's ``(n_classes, n_source)`` weight matrix."""
        return self.weight.detach().cpu().numpy().astype(np.float64)


def class_rows(coef, intercept, classes, n_classes):
    """A fitted logistic regression as one weight row and bias per class.

    A binary regression has one row ``w`` (the log-odds of the second class);
    rows ``-w/2`` and ``w/2`` give the same softmax. A class absent from the
    fitted data gets zero weights and a bias below every other, so it is never
    predicted until training reaches it.
    """
    if len(classes) == 2:
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2, intercept / 2])
    weight = np.zeros((n_classes, coef.shape[1]))
    bias = np.full(n_classes, intercept.min() - 10.0)
    weight[classes], bias[classes] = coef, intercept
    return weight, bias


def frequency_counts(source_scores, targets, n_classes):
    """How often each source output is the argmax, per target class.

    Parameters
    ----------
    source_scores : torch.Tensor of shape (n_series, n_source)
    targets : torch.Tensor of int, shape (n_series,)
    n_classes : int

    Returns
    -------
    torch.Tensor of shape (n_source, n_classes)
        Entry ``[s, c]``: training series of class ``c`` whose top source output is ``s``.
    """
    winners = source_scores.argmax(dim=1)
    counts = torch.zeros(source_scores.shape[1], n_classes, dtype=torch.float64)
    counts.index_put_(
        (winners.cpu(), targets.cpu().long()), torch.ones(len(targets), dtype=torch.float64), accumulate=True
    )
    return counts


def greedy_assignment(counts, outputs_per_class=1):
    """Greedy frequency label mapping (Tsai et al. 2020; Chen et al. 2023).

    Repeatedly take the largest entry of the (source output x class) count
    matrix, give that source output to that class, remove the source output,
    and remove the class once it holds ``outputs_per_class`` outputs. Ties
    go to the lowest source output, then the lowest class.

    Parameters
    ----------
    counts : array-like of shape (n_source, n_classes)
    outputs_per_class : int, default=1
        ``k``: 1 is the one-to-one mapping of the papers, more is many-to-one.

    Returns
    -------
    numpy.ndarray of int, shape (n_classes, outputs_per_class)
        Row ``c``: the source outputs of class ``c``, in the order assigned.
    """
    remaining = np.array(counts, dtype=np.float64)
    n_source, n_classes = remaining.shape
    k = int(outputs_per_class)
    if k * n_classes > n_source:
        raise ValueError(
            f"A frequency mapping with {k} output(s) per class needs {k * n_classes} source "
            f"outputs; the source has {n_source}. Pass a smaller outputs_per_class."
        )
    assigned = [[] for _ in range(n_classes)]
    for _ in range(k * n_classes):
        source, target = np.unravel_index(np.argmax(remaining), remaining.shape)
        assigned[target].append(int(source))
        remaining[source, :] = -np.inf
        if len(assigned[target]) == k:
            remaining[:, target] = -np.inf
    return np.array(assigned, dtype=np.int64)


def bayesian_counts(source_scores, targets, n_classes, topk_ratio=None):
    """Co-occurrence of source predictions and target labels (BLM, BLM++).

    Parameters
    ----------
    source_scores : torch.Tensor of shape (n_series, n_source)
        Source scores (logits); probabilities are their softmax.
    targets : torch.Tensor of int, shape (n_series,)
    n_classes : int
    topk_ratio : float, optional
        ``None`` (BLM): each series adds 1 at its argmax source output.
        A ratio (BLM++): each series adds its source probabilities at its
        top ``ceil(topk_ratio * n_source)`` outputs.

    Returns
    -------
    torch.Tensor of shape (n_source, n_classes), float64
    """
    if topk_ratio is None:
        return frequency_counts(source_scores, targets, n_classes)
    probabilities = torch.softmax(source_scores.double(), dim=1).cpu()
    k = max(1, int(np.ceil(topk_ratio * probabilities.shape[1])))
    values, indices = probabilities.topk(k, dim=1)
    kept = torch.zeros_like(probabilities).scatter_(1, indices, values)
    one_hot = torch.nn.functional.one_hot(targets.cpu().long(), n_classes).double()
    return kept.T @ one_hot


def bayesian_matrix(counts, smoothing=1.0):
    """The BLM mapping matrix ``omega`` from co-occurrence counts.

    As in the official implementation of Cai et al. (NeurIPS 2024): each
    row is divided by its total plus ``smoothing`` (``P(y_T | y_S)`` with the
    smoothing in the denominator, so source outputs seen rarely get small
    weights and unseen ones none), then each class column is normalised to
    sum to 1 (no class dominates by being frequent).

    Parameters
    ----------
    counts : torch.Tensor of shape (n_source, n_classes)
    smoothing : float, default=1.0
        Laplace smoothing ``lambda``.

    Returns
    -------
    torch.Tensor of shape (n_source, n_classes), float64
    """
    counts = torch.as_tensor(counts, dtype=torch.float64)
    conditional = counts / (counts.sum(dim=1, keepdim=True) + smoothing)
    # A class no series reached (possible only for BLM with tiny data) gets a
    # uniform column instead of 0/0.
    column = conditional.sum(dim=0, keepdim=True)
    uniform = torch.full_like(conditional, 1.0 / conditional.shape[0])
    return torch.where(column > 0, conditional / column.clamp_min(1e-300), uniform)


class FrequencyMapping(ManyToOneMapping):
    """Frequency (FLM) and iterative (ILM) label mapping.

    Each class owns the ``k`` source outputs that are most often the argmax
    for its training series (:func:`greedy_assignment`); the class score is
    the mean of their logits, as in :class:`ManyToOneMapping`. FLM (Tsai,
    Chen & Ho, ICML 2020; Chen et al., CVPR 2023) computes the assignment
    once, through the initial program; ILM (Chen et al., CVPR 2023)
    recomputes it every ``update_every`` epochs through the current one.

    Parameters
    ----------
    n_classes, outputs_per_class : int
    update_every : int, optional
        ``None``: FLM (before the first epoch only); ``N``: ILM.
    reduction : {"logits", "probabilities"}, default="logits"
        As in :class:`ManyToOneMapping`.
    """

    def __init__(self, n_classes, outputs_per_class=1, update_every=None, reduction="logits"):
        # Placeholder until the first refresh: outputs taken in order.
        super().__init__(np.arange(n_classes * outputs_per_class).reshape(n_classes, outputs_per_class), reduction)
        self.update_every = update_every

    def refresh_due(self, epoch):
        """Whether to recompute the mapping before (1-based) ``epoch``."""
        return _due(epoch, self.update_every)

    def refresh(self, source_scores, targets):
        """Recompute the assignment from the training series' source scores.

        Parameters
        ----------
        source_scores : torch.Tensor of shape (n_series, n_source)
            Through the current program.
        targets : torch.Tensor of int, shape (n_series,)
        """
        n_classes, k = self.assignment.shape
        counts = frequency_counts(source_scores, targets, n_classes)
        self.assignment.copy_(torch.from_numpy(greedy_assignment(counts.numpy(), k)))


class BayesianMapping(nn.Module):
    """Bayesian-guided label mapping, BLM and BLM++ (Cai et al., NeurIPS 2024).

    A probabilistic matrix ``omega`` (n_source x n_classes) estimated from how
    source predictions and target labels co-occur on the training data
    (:func:`bayesian_counts`, :func:`bayesian_matrix`), recomputed every
    ``update_every`` epochs through the current program. The mapped score of
    class ``c`` is ``q_c = softmax(source scores) @ omega[:, c]``, a
    non-negative weight, not a logit: ``forward`` returns ``log q`` so that a
    softmax over classes (``predict_proba``, the cross-entropy loss) gives
    ``q / sum(q)``, the mapped probabilities normalised over the classes.

    Parameters
    ----------
    n_source, n_classes : int
    smoothing : float, default=1.0
        Laplace smoothing ``lambda``.
    topk_ratio : float, optional
        ``None``: BLM (argmax counts). A ratio: BLM++ (top-k probabilities).
    update_every : int, default=1
    """

    def __init__(self, n_source, n_classes, smoothing=1.0, topk_ratio=None, update_every=1):
        super().__init__()
        self.smoothing = float(smoothing)
        self.topk_ratio = topk_ratio
        self.update_every = update_every
        self.register_buffer("omega", torch.full((n_source, n_classes), 1.0 / n_source))

    def refresh_due(self, epoch):
        """Whether to recompute ``omega`` before (1-based) ``epoch``."""
        return _due(epoch, self.update_every)

    def refresh(self, source_scores, targets):
        """Re-estimate ``omega`` from the training series' source scores.

        Parameters
        ----------
        source_scores : torch.Tensor of shape (n_series, n_source)
        targets : torch.Tensor of int, shape (n_series,)
        """
        counts = bayesian_counts(source_scores, targets, self.omega.shape[1], self.topk_ratio)
        self.omega.copy_(bayesian_matrix(counts, self.smoothing).to(self.omega))

    def forward(self, source_scores):
        mapped = torch.softmax(source_scores, dim=1) @ self.omega
        # The floor keeps log finite when a series puts all its mass on
        # source outputs no training series reached.
        return torch.log(mapped.clamp_min(1e-30))

    def matrix(self, n_source):
        """``omega`` transposed: ``(n_classes, n_source)``."""
        return self.omega.T.cpu().numpy().astype(np.float64)


def _due(epoch, update_every):
    if update_every is None:
        return epoch == 1
    return (epoch - 1) % int(update_every) == 0


def make_mapping(
    kind,
    n_source,
    n_classes,
    rng,
    outputs_per_class=None,
    *,
    update_every=1,
    blm_lambda=1.0,
    blm_topk_ratio=0.15,
    reduction="logits",
):
    """Build a label mapping.

    Parameters
    ----------
    kind : {"random", "sequential", "linear", "flm", "ilm", "blm", "blm++"}
        ``"random"``: the paper's mapping, ``outputs_per_class`` disjoint
        source outputs per class drawn at random. ``"sequential"``: the
        official code's mapping, outputs ``0..k-1`` to class 0, ``k..2k-1`` to
        class 1, and so on. ``"linear"``: a learnable linear head.
        ``"flm"``/``"ilm"``: frequency / iterative label mapping
        (:class:`FrequencyMapping`). ``"blm"``/``"blm++"``: Bayesian-guided
        label mapping (:class:`BayesianMapping`).
    n_source : int
        Number of source outputs.
    n_classes : int
        Number of target classes.
    rng : numpy.random.Generator
        Draws the random assignment and the linear head's initial weights.
    outputs_per_class : int, optional
        ``k`` for the many-to-one mappings; defaults to
        ``n_source // n_classes`` (every output used at most once) for
        random/sequential and to 1 (one-to-one) for flm/ilm.
    update_every : int, default=1
        Epochs between recomputations for ilm, blm and blm++.
    blm_lambda : float, default=1.0
        Laplace smoothing of blm/blm++.
    blm_topk_ratio : float, default=0.15
        Fraction of source outputs whose probabilities a series adds (blm++).
    reduction : {"logits", "probabilities"}, default="logits"
        What the many-to-one mappings (random, sequential, flm, ilm) average
        over a class's source outputs (:class:`ManyToOneMapping`).

    Returns
    -------
    torch.nn.Module
        Maps ``(batch, n_source)`` source logits to ``(batch, n_classes)``
        class scores (a softmax gives class probabilities). Mappings computed
        from data have ``refresh_due(epoch)`` and ``refresh(scores, targets)``.
    """
    if kind not in MAPPINGS:
        raise ValueError(f"Unknown mapping {kind!r}; use one of {list(MAPPINGS)}.")
    if reduction not in MAPPING_REDUCTIONS:
        raise ValueError(f"Unknown mapping reduction {reduction!r}; use one of {list(MAPPING_REDUCTIONS)}.")
    if reduction != "logits" and kind in ("linear", "blm", "blm++"):
        raise ValueError(
            f"mapping_reduction={reduction!r} applies to the many-to-one mappings (random, sequential, "
            f"flm, ilm); the {kind!r} mapping has its own. Use mapping_reduction='logits' with it."
        )
    if kind == "linear":
        head = LinearMapping(n_source, n_classes)
        bound = 1.0 / np.sqrt(n_source)
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, (n_classes, n_source))))
            head.bias.zero_()
        return head
    if kind in ("blm", "blm++"):
        topk = blm_topk_ratio if kind == "blm++" else None
        return BayesianMapping(n_source, n_classes, blm_lambda, topk, update_every)
    default_k = 1 if kind in ("flm", "ilm") else n_source // n_classes
    k = default_k if outputs_per_class is None else int(outputs_per_class)
    if k < 1 or k * n_classes > n_source:
        raise ValueError(
            f"The {kind!r} mapping cannot serve {n_classes} classes with {k} output(s) "
            f"each from a source with {n_source} outputs. Use mapping='linear', fewer "
            "outputs_per_class, or a source with more outputs."
        )
    if kind in ("flm", "ilm"):
        return FrequencyMapping(n_classes, k, None if kind == "flm" else update_every, reduction)
    order = rng.permutation(n_source) if kind == "random" else np.arange(n_source)
    return ManyToOneMapping(order[: k * n_classes].reshape(n_classes, k), reduction)
