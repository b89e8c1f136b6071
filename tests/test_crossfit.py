"""Cross-fitted program training (crossfit.py): the folds, the fold heads, the program's
gradient under heads that did not see a series, the kept epoch, and the estimator's
refusals."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from voice2series.crossfit import FoldHeads, stratified_folds, train_cross_fitted
from voice2series.mapping import class_rows, make_mapping
from voice2series.program import InputProgram
from voice2series.sources import from_module
from voice2series.training import ReprogrammedModel, source_outputs

from .helpers import labelled_series, tiny_classifier


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """The machine is shared; every test here runs on one torch thread."""


# ------------------------------------------------------------------ folds
def test_stratified_folds_put_every_class_in_every_fold_and_follow_the_seed():
    targets = np.array([0] * 10 + [1] * 7 + [2] * 13)
    folds = stratified_folds(targets, 5, seed=3)
    assert sorted(np.unique(folds)) == [0, 1, 2, 3, 4]
    for fold in range(5):
        assert set(targets[folds == fold]) == {0, 1, 2}
    assert np.array_equal(folds, stratified_folds(targets, 5, seed=3))
    assert not np.array_equal(folds, stratified_folds(targets, 5, seed=4))


def test_stratified_folds_are_fewer_when_a_class_is_smaller_than_the_folds():
    targets = np.array([0] * 10 + [1] * 3)
    folds = stratified_folds(targets, 5, seed=0)
    assert sorted(np.unique(folds)) == [0, 1, 2]  # every fold still holds a series of class 1
    assert all((targets[folds == fold] == 1).any() for fold in range(3))


# ------------------------------------------------------------- fold heads
def separable_features(n=30, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    targets = np.arange(n) % 3
    features = rng.normal(size=(n, n_features)) + targets[:, None]
    return torch.tensor(features, dtype=torch.float64), targets


def test_each_fold_head_is_a_logistic_regression_fitted_without_its_fold():
    features, targets = separable_features()
    folds = stratified_folds(targets, 5, seed=0)
    heads = FoldHeads(3, C=0.5).fit(features, targets, folds)
    for fold in range(5):
        seen = folds != fold
        reference = LogisticRegression(C=0.5, max_iter=2000).fit(features[seen].numpy(), targets[seen])
        weight, bias = class_rows(reference.coef_, reference.intercept_, reference.classes_, 3)
        assert np.allclose(heads.weight[fold].numpy(), weight, atol=1e-6)
        assert np.allclose(heads.bias[fold].numpy(), bias, atol=1e-6)


def test_a_series_is_scored_by_the_head_of_its_own_fold():
    features, targets = separable_features()
    folds = stratified_folds(targets, 5, seed=0)
    heads = FoldHeads(3, C=1.0).fit(features, targets, folds)
    logits = heads.logits(features, torch.as_tensor(folds))
    for row in (0, 7, 29):
        expected = heads.weight[folds[row]] @ features[row] + heads.bias[folds[row]]
        assert torch.allclose(logits[row], expected)


def test_a_fold_never_influences_its_own_head():
    features, targets = separable_features()
    folds = stratified_folds(targets, 5, seed=0)
    heads = FoldHeads(3, C=1.0).fit(features, targets, folds)
    moved = features.clone()
    moved[folds == 2] += 100.0  # only fold 2's series change
    moved_heads = FoldHeads(3, C=1.0).fit(moved, targets, folds)
    assert torch.allclose(heads.weight[2], moved_heads.weight[2])
    assert not torch.allclose(heads.weight[0], moved_heads.weight[0])


def test_binary_fold_heads_score_both_classes():
    features, targets = separable_features()
    targets = targets % 2
    heads = FoldHeads(2, C=1.0).fit(features, targets, stratified_folds(targets, 5, seed=0))
    assert heads.weight.shape == (5, 2, 4)


# ----------------------------------------------------- cross-fitted training
def small_model(seed=0):
    torch.manual_seed(seed)
    source = from_module(nn.Sequential(nn.Linear(64, 16), nn.Tanh()), sample_rate=8000, input_length=64)
    program = InputProgram(64, 16)
    X, y = labelled_series(n_per_class=10, length=16)
    targets = torch.as_tensor(np.unique(y, return_inverse=True)[1])
    placed = program.place(torch.tensor(X, dtype=torch.float32))
    model = ReprogrammedModel(program, source, make_mapping("linear", 16, 3, np.random.default_rng(0)))
    scores = source_outputs(model, placed, 8)
    model.mapping.calibrate(scores)
    model.mapping.fit_logistic(scores, targets, 0)
    return model, (placed, targets)


def fit_cross_fitted(model, train, **options):
    return train_cross_fitted(
        model,
        train,
        **{
            "n_folds": 5,
            "learning_rate": 0.05,
            "batch_size": 8,
            "max_epochs": 4,
            "n_iter_no_change": 10,
            "generator": torch.Generator().manual_seed(0),
            **options,
        },
    )


def test_the_program_trains_on_the_cross_fitted_loss_and_keeps_its_best_epoch():
    model, train = small_model()
    history, best_epoch = fit_cross_fitted(model, train)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert all(h["cv_loss"] is not None and h["val_loss"] is None for h in history)
    program = model.program.delta.detach()
    assert best_epoch > 0 and program.abs().sum() > 0  # the program moved, and lowered the cross-fitted loss
    assert history[best_epoch - 1]["cv_loss"] == min(h["cv_loss"] for h in history)
    # The unmasked samples moved; the series' own samples (mask 0) get no gradient.
    mask = model.program.mask
    assert torch.all(program[mask == 0] == 0) and torch.any(program[mask == 1] != 0)


def test_a_program_that_never_lowers_the_cross_fitted_loss_is_not_kept():
    """A zero learning rate leaves delta at zero each epoch; epoch 0 (the start) is kept,
    and the model is the logistic probe: same head as fit_logistic gives with delta = 0."""
    model, train = small_model()
    probe, _ = small_model()
    history, best_epoch = fit_cross_fitted(model, train, learning_rate=0.0, n_iter_no_change=2)
    assert best_epoch == 0 and len(history) == 2
    assert torch.all(model.program.delta == 0)
    # The final head is fitted on every series as the probe's is (its seed drawn from the generator).
    probe_scores = source_outputs(probe, train[0], 8)
    assert torch.allclose(source_outputs(model, train[0], 8), probe_scores)
    assert model.mapping.logistic_C is not None


def test_the_program_gradient_comes_from_heads_that_did_not_see_the_series(monkeypatch):
    """Break check: with every series scored by a head that saw it (each fold's head fitted
    on all series) the epoch's training loss is lower than the cross-fitted one."""
    import voice2series.crossfit as crossfit

    model, train = small_model()
    history, _ = fit_cross_fitted(model, train, max_epochs=1, learning_rate=0.0)
    cross_fitted_loss = history[0]["train_loss"]

    def every_head_sees_every_series(heads, features, targets, folds):
        everything = LogisticRegression(C=heads.C, max_iter=2000).fit(features.double().numpy(), targets)
        weight, bias = class_rows(everything.coef_, everything.intercept_, everything.classes_, heads.n_classes)
        n_folds = folds.max() + 1
        heads.weight = torch.tensor(weight, dtype=features.dtype).expand(n_folds, -1, -1)
        heads.bias = torch.tensor(bias, dtype=features.dtype).expand(n_folds, -1)
        return heads

    monkeypatch.setattr(crossfit.FoldHeads, "fit", every_head_sees_every_series)
    model, train = small_model()
    history, _ = fit_cross_fitted(model, train, max_epochs=1, learning_rate=0.0)
    assert history[0]["train_loss"] < cross_fitted_loss


def test_cross_fitted_training_needs_a_logistic_start():
    model, train = small_model()
    model.mapping.logistic_C = None
    with pytest.raises(ValueError, match="head_init='logistic'"):
        fit_cross_fitted(model, train)


# -------------------------------------------------------------- estimator
def test_the_estimator_trains_a_cross_fitted_program(small_xy):
    clf = tiny_classifier(max_epochs=2, head_init="logistic", program_loss="cross-fitted").fit(*small_xy)
    assert len(clf.history_) >= 1 and "cv_loss" in clf.history_[0]
    assert set(clf.predict(small_xy[0])) <= set(small_xy[1])


def test_a_cross_fitted_model_saves_and_loads_with_its_history(small_xy, tmp_path):
    clf = tiny_classifier(max_epochs=2, head_init="logistic", program_loss="cross-fitted").fit(*small_xy)
    clf.save(tmp_path / "model")
    loaded = type(clf).load(tmp_path / "model")
    assert loaded.program_loss == "cross-fitted" and loaded.history_ == clf.history_
    assert np.array_equal(loaded.predict_proba(small_xy[0]), clf.predict_proba(small_xy[0]))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"head_init": "random"}, "head_init='logistic'"),
        ({"head_init": "logistic", "mapping": "random"}, "mapping='linear'"),
        ({"head_init": "logistic", "train_program": False}, "train_program=True"),
        ({"head_init": "logistic", "finetune": "last"}, "finetune='none'"),
    ],
)
def test_the_estimator_refuses_cross_fitting_what_it_cannot_train(small_xy, params, match):
    with pytest.raises(ValueError, match=match):
        tiny_classifier(max_epochs=1, program_loss="cross-fitted", **params).fit(*small_xy)


# ------------------------------------------------------ a validation split
def split_model():
    """``small_model`` with its last 9 series held out (3 per class) as a validation split."""
    model, (placed, targets) = small_model()
    order = torch.argsort(targets, stable=True)
    held = torch.cat([order[targets[order] == c][-3:] for c in range(3)])
    kept = torch.as_tensor([i for i in range(len(targets)) if i not in set(held.tolist())])
    train, validation = (placed[kept], targets[kept]), (placed[held], targets[held])
    scores = source_outputs(model, train[0], 8)
    model.mapping.calibrate(scores)
    model.mapping.fit_logistic(scores, train[1], 0)
    return model, train, validation


def test_with_a_validation_split_the_epoch_is_chosen_on_it():
    """The kept epoch is the first with the best (validation accuracy, lower loss), the start
    included (its score: any epoch of the same model with the program held still)."""
    model, train, validation = split_model()
    still, _ = fit_cross_fitted(split_model()[0], train, validation=validation, learning_rate=0.0, max_epochs=1)
    history, best_epoch = fit_cross_fitted(model, train, validation=validation, max_epochs=5)
    assert all(h["val_loss"] is not None and h["cv_loss"] is not None for h in history)
    scores = [(h["val_accuracy"], -h["val_loss"]) for h in still[:1] + history]
    assert best_epoch == max(range(len(scores)), key=scores.__getitem__)
    assert best_epoch > 0  # here a trained epoch wins on validation, while the cross-fitted loss only rose
    assert history[best_epoch - 1]["cv_loss"] > history[0]["cv_loss"]


def test_with_a_validation_split_an_unmoved_program_keeps_the_start_and_the_head_sees_every_series():
    model, train, validation = split_model()
    history, best_epoch = fit_cross_fitted(model, train, validation=validation, learning_rate=0.0, n_iter_no_change=2)
    assert best_epoch == 0 and len(history) == 2
    # The final head is standardised on the training and validation series together.
    every_series = source_outputs(model, torch.cat([train[0], validation[0]]), 8)
    assert torch.allclose(model.mapping.shift, every_series.mean(dim=0), atol=1e-5)


@pytest.mark.parametrize("early_stopping, held_out", [("auto", False), (True, True), (False, False)])
def test_the_estimator_holds_out_validation_for_a_cross_fitted_program_only_when_asked(
    small_xy, early_stopping, held_out
):
    clf = tiny_classifier(
        max_epochs=2, head_init="logistic", program_loss="cross-fitted", early_stopping=early_stopping
    ).fit(*small_xy)
    assert (clf.history_[0]["val_loss"] is not None) == held_out
