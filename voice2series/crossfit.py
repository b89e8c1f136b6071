"""Cross-fitted program training: the program learns from series its head has not seen.

Round 5 of the accuracy research (docs/accuracy.md) measured why a program
trained through a fitted linear head learns little: on most training splits
the logistic probe classifies every training series with a training log loss
9 to over 50 times below its cross-validated one, and the cross-entropy's
gradient back to the program is scaled, series by series, by
``1 - p(true class)``. A program trained on that loss hears that the training
series are already solved.

Cross-fitting gives the program the held-out loss instead. Each epoch:

1. the source outputs of every training series through the current program
   are computed (no gradients) and standardised as the head reads them;
2. one L2 logistic regression per fold is fitted on the series of the
   *other* folds (:class:`FoldHeads`); the ``n_folds`` stratified folds are
   drawn once, so that the cross-fitted loss of two epochs differs only by
   their programs (fresh folds each epoch made a program that never moved
   look better or worse by the draw alone);
3. the program takes Adam steps on each series' cross-entropy under the head
   that did not see it (the heads are constants within the epoch).

The epoch whose program had the lowest cross-fitted log loss (step 1-2 of the
next epoch measures it; epoch 0 is the program's start, so a program that
never lowers it is not kept) is restored, and the model's own head is then
fitted on every training series as the logistic start is
(:meth:`~voice2series.mapping.LinearMapping.fit_logistic`). With the program
held at zero the same model is the logistic probe, so the two differ only by
what the program learned.

The cross-fitted loss that picks the epoch is measured on series the program
itself was trained on (through heads that did not see them): it is less
optimistic than the training loss, not an unbiased estimate (round 6
measured it 1.15-4.3 times below the loss of unseen series,
``benchmarks/results/crossfit_optimism.json``). Given a validation split, the
epoch is chosen on it instead, as :func:`~voice2series.training.train_model`
chooses (validation accuracy, ties by lower loss), each epoch's program read
by a head fitted on all training series; those series neither the program
nor any head trained on. The final head is then fitted on the training and
validation series together.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from tqdm.auto import tqdm

from .mapping import LinearMapping, class_rows
from .training import (
    cached_rows,
    calibrate_on,
    every_series,
    fit_final_head,
    is_better,
    source_outputs,
    train_one_epoch,
)

__all__ = [
    "CROSS_FIT_FOLDS",
    "FoldHeads",
    "cross_fit_options",
    "stratified_folds",
    "train_cross_fitted",
]

# Folds of the cross-fitting: each head sees 80 % of the series, as in the
# 5-fold CV that chooses the logistic start's penalty.
CROSS_FIT_FOLDS = 5


def cross_fit_options(params):
    """Keyword arguments of :func:`train_cross_fitted` from :class:`~voice2series.V2SClassifier` parameters."""
    return {
        "n_folds": CROSS_FIT_FOLDS,
        "learning_rate": params["learning_rate"],
        "batch_size": params["batch_size"],
        "max_epochs": params["max_epochs"],
        "n_iter_no_change": params["n_iter_no_change"],
        "program_l2": params["program_l2"],
        "verbose": params["verbose"],
    }


def stratified_folds(targets, n_folds, seed):
    """Fold index of every series: stratified, shuffled by ``seed``.

    Parameters
    ----------
    targets : numpy.ndarray of int, shape (n_series,)
    n_folds : int
        Lowered to the size of the smallest class when that is smaller (every
        fold's head then sees every class).
    seed : int

    Returns
    -------
    numpy.ndarray of int, shape (n_series,)
    """
    smallest = int(np.bincount(targets)[np.unique(targets)].min())
    n_folds = min(n_folds, smallest)
    folds = np.empty(len(targets), dtype=np.int64)
    splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(len(targets)), targets)):
        folds[held_out] = fold
    return folds


class FoldHeads:
    """One L2 logistic regression per fold, each fitted without its fold's series.

    Parameters
    ----------
    n_classes : int
    C : float
        Inverse L2 penalty of every fold's regression (the one the model's
        logistic start chose by cross-validation).
    """

    def __init__(self, n_classes, C):
        self.n_classes, self.C = n_classes, C
        self.weight = self.bias = None

    def fit(self, features, targets, folds):
        """Fit the heads on standardised features.

        Parameters
        ----------
        features : torch.Tensor of shape (n_series, n_features)
            As the head reads them (:meth:`LinearMapping.standardised`).
        targets : numpy.ndarray of int, shape (n_series,)
        folds : numpy.ndarray of int, shape (n_series,)
            From :func:`stratified_folds`.

        Returns
        -------
        self : FoldHeads
        """
        rows = features.detach().cpu().double().numpy()
        weights, biases = zip(
            *(self.regression(rows[folds != fold], targets[folds != fold]) for fold in range(folds.max() + 1))
        )
        self.weight = torch.as_tensor(np.stack(weights), dtype=features.dtype, device=features.device)
        self.bias = torch.as_tensor(np.stack(biases), dtype=features.dtype, device=features.device)
        return self

    def regression(self, rows, targets):
        """Weight rows and biases, one per class, of the L2 logistic regression of ``rows``."""
        model = LogisticRegression(C=self.C, max_iter=2000).fit(rows, targets)
        return class_rows(model.coef_, model.intercept_, model.classes_, self.n_classes)

    def logits(self, features, folds):
        """Class scores of each row under the head of its own fold (which did not see it).

        Parameters
        ----------
        features : torch.Tensor of shape (batch, n_features)
        folds : torch.Tensor of int, shape (batch,)

        Returns
        -------
        torch.Tensor of shape (batch, n_classes)
        """
        return torch.einsum("bd,bcd->bc", features, self.weight[folds]) + self.bias[folds]


def train_cross_fitted(
    model,
    train,
    *,
    n_folds,
    learning_rate,
    batch_size,
    max_epochs,
    n_iter_no_change,
    generator,
    validation=None,
    cache=None,
    program_l2=0.0,
    verbose=False,
):
    """Train the program on the cross-fitted loss, then fit the head on every series.

    Parameters
    ----------
    model : ReprogrammedModel
        With a :class:`~voice2series.mapping.LinearMapping` already started by
        ``fit_logistic`` (its chosen penalty is the fold heads').
    train : tuple of (torch.Tensor, torch.Tensor)
        Placed training waveforms and integer targets.
    n_folds : int
        Folds of the cross-fitting.
    learning_rate : float
        Adam's step size for the program (the head is not trained by Adam).
    batch_size, max_epochs, n_iter_no_change : int
        Training stops after ``n_iter_no_change`` epochs without a lower
        cross-fitted loss.
    generator : torch.Generator
        Shuffles the mini-batches and draws the folds.
    validation : tuple of (torch.Tensor, torch.Tensor), optional
        Placed waveforms and targets of held-out series: the epoch is chosen
        on them (see the module docstring), and training stops after
        ``n_iter_no_change`` epochs without a better one.
    cache : SeriesCache, optional
        The training series' series part (:meth:`ReprogrammedModel.series_cache`).
    program_l2 : float, default=0.0
        As in :func:`voice2series.training.train_model`.
    verbose : bool

    Returns
    -------
    history : list of dict
        Per epoch: ``epoch``, ``train_loss`` and ``train_accuracy`` (the
        cross-fitted loss the epoch's steps trained on), ``cv_loss`` and
        ``cv_accuracy`` (of the program the epoch ended with, under heads
        refitted on the same folds), ``val_loss`` and ``val_accuracy`` (on ``validation``; None
        without),
        ``seconds``.
    best_epoch : int
        The epoch whose program the model holds (0: the start).
    """
    mapping = model.mapping
    if not isinstance(mapping, LinearMapping) or mapping.logistic_C is None:
        raise ValueError("Cross-fitted training needs a linear head started by fit_logistic (head_init='logistic').")
    placed, targets = train
    labels = targets.cpu().numpy()
    heads = FoldHeads(mapping.out_features, mapping.logistic_C)
    optimizer = torch.optim.Adam([p for p in model.program.parameters() if p.requires_grad], lr=learning_rate)

    folds = stratified_folds(labels, n_folds, int(torch.randint(2**31, (), generator=generator)))

    def score():
        """Refit the fold heads; the selection score (higher is better), the cross-fitted and validation scores."""
        *cv, features = _refit_heads(model, heads, placed, labels, folds, batch_size, cache)
        if validation is None:
            return (0.0, cv[0]), cv, (None, None)
        checked = _validation_scores(model, heads, features, labels, validation, batch_size)
        return (checked[1], checked[0]), cv, checked

    best_score, _, _ = score()
    history, best_epoch, best_state = [], 0, model.trained_state()
    epochs = tqdm(range(1, max_epochs + 1), desc="fit", unit="epoch", disable=not verbose, leave=False)
    for epoch in epochs:
        started = time.perf_counter()
        train_loss, train_accuracy = _cross_fitted_epoch(
            model, optimizer, heads, placed, targets, folds, batch_size, generator, cache, program_l2
        )
        epoch_score, (cv_loss, cv_accuracy), (val_loss, val_accuracy) = score()
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_accuracy": train_accuracy,
                "cv_loss": cv_loss,
                "cv_accuracy": cv_accuracy,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
                "seconds": time.perf_counter() - started,
            }
        )
        epochs.set_postfix(cv_loss=f"{cv_loss:.3f}")
        # The cross-fitted score's accuracy slot is a constant, so there the loss decides alone.
        if is_better(epoch_score, best_score):
            best_score, best_epoch, best_state = epoch_score, epoch, model.trained_state()
        if epoch - best_epoch >= n_iter_no_change:
            break
    # The kept epoch's program; the head is refitted below, whatever state it was restored to.
    model.load_state_dict(best_state, strict=False)
    seed = int(torch.randint(2**31, (), generator=generator))
    # The training series' cache does not cover the validation series.
    head_cache = cache if validation is None else None
    fit_final_head(model, *every_series((placed, targets), validation), batch_size, seed, head_cache)
    return history, best_epoch


def _refit_heads(model, heads, placed, labels, folds, batch_size, cache):
    """Standardise the current outputs, fit the fold heads; the cross-fitted loss and accuracy, and the features."""
    scores = source_outputs(model, placed, batch_size, cache)
    calibrate_on(model, scores)
    features = model.mapping.standardised(scores)
    heads.fit(features, labels, folds)
    fold_index = torch.as_tensor(folds, device=features.device)
    targets = torch.as_tensor(labels, device=features.device)
    logits = heads.logits(features, fold_index)
    loss = F.cross_entropy(logits, targets).item()
    return loss, (logits.argmax(dim=1) == targets).float().mean().item(), features


def _validation_scores(model, heads, train_features, labels, validation, batch_size):
    """Loss and accuracy of the held-out series under a head fitted on every training series."""
    weight, bias = heads.regression(train_features.detach().cpu().double().numpy(), labels)
    features = model.mapping.standardised(source_outputs(model, validation[0], batch_size))
    logits = features @ torch.as_tensor(weight, dtype=features.dtype).T + torch.as_tensor(bias, dtype=features.dtype)
    targets = validation[1]
    return F.cross_entropy(logits, targets).item(), (logits.argmax(dim=1) == targets).float().mean().item()


def _cross_fitted_epoch(model, optimizer, heads, placed, targets, folds, batch_size, generator, cache, program_l2):
    """One pass of Adam steps on the program, each series scored by the head that did not see it."""
    fold_index = torch.as_tensor(folds, device=targets.device)

    def batch_logits(batch):
        scores = model.source_scores(placed[batch], cached_rows(cache, batch))
        return heads.logits(model.mapping.standardised(scores), fold_index[batch])

    return train_one_epoch(model, optimizer, targets, batch_logits, batch_size, generator, program_l2=program_l2)
