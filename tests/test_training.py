"""Training (training.py): early stopping and the kept epoch, learning-rate schedules,
label smoothing, mapping refreshes, fine-tuning scopes, the frozen source, devices, and
the amortised first layer (split source calls) against the plain path."""

import copy
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import voice2series.estimator
from voice2series import V2SClassifier
from voice2series.blackbox import QueryCounter
from voice2series.mapping import BayesianMapping, FrequencyMapping, LinearMapping, make_mapping
from voice2series.program import InputProgram, resample_series, window_layout
from voice2series.sources import CrepeSource, MemberBatch, SplitBatch, from_module
from voice2series.training import (
    FixedMemberCache,
    ReprogrammedModel,
    _make_optimizer,
    _make_scheduler,
    _train_one_epoch,
    build_model,
    calibrate_mapping,
    predict_logits,
    program_penalty,
    program_scales_of,
    resolve_auto,
    source_outputs,
    temperature_for_loss,
    time_scales_of,
    train_model,
    train_one_epoch,
    training_options,
)

from .helpers import random_xy, tiny_classifier


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """The machine is shared; every test here runs on one torch thread."""


# ------------------------------------------------------------ early stopping
def assert_best_epoch_kept(history, best_epoch, n_iter_no_change, max_epochs):
    """The kept epoch is the best on validation (accuracy, ties: lower loss), and training
    stopped ``n_iter_no_change`` epochs after it, or at ``max_epochs``."""
    scores = [(h["val_accuracy"], -h["val_loss"]) for h in history]
    assert best_epoch == 1 + max(range(len(scores)), key=scores.__getitem__), scores
    assert len(history) == min(best_epoch + n_iter_no_change, max_epochs), (len(history), best_epoch)


def validation_scores(model, validation, batch_size):
    """Validation loss and accuracy of ``model`` as it is now (what training records per epoch)."""
    placed, targets = validation
    logits = predict_logits(model, placed, batch_size, pad=False)
    return F.cross_entropy(logits, targets).item(), (logits.argmax(dim=1) == targets).float().mean().item()


def test_train_model_keeps_the_best_validation_epoch_and_stops_after_patience():
    torch.manual_seed(0)
    source = from_module(nn.Linear(64, 8), sample_rate=8000, input_length=64)
    program = InputProgram(64, 16)
    model = ReprogrammedModel(program, source, make_mapping("linear", 8, 2, np.random.default_rng(0)))
    X, y = random_xy(n=40, length=16)
    placed, targets = program.place(torch.tensor(X, dtype=torch.float32)), torch.as_tensor(y)
    train, validation = (placed[:30], targets[:30]), (placed[30:], targets[30:])
    calibrate_mapping(model, train, 8)
    history, best_epoch = train_model(
        model,
        train,
        validation,
        learning_rate=0.05,
        weight_decay=0.0,
        batch_size=8,
        max_epochs=40,
        n_iter_no_change=3,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(history) < 40  # noise labels: validation stops improving, training stops early
    assert_best_epoch_kept(history, best_epoch, n_iter_no_change=3, max_epochs=40)
    # The model holds the best epoch's weights, not the last epoch's.
    loss, accuracy = validation_scores(model, validation, 8)
    assert (accuracy, loss) == pytest.approx(
        (history[best_epoch - 1]["val_accuracy"], history[best_epoch - 1]["val_loss"]), rel=1e-6
    )
    assert (history[-1]["val_accuracy"], history[-1]["val_loss"]) != (accuracy, loss)


@pytest.mark.slow
def test_early_stopping_restores_the_best_validation_epoch(italy, monkeypatch):
    (X, y), _ = italy
    seen = {}
    real_train_model = voice2series.estimator.train_model

    def spy(model, train, validation=None, **options):
        seen["validation"] = validation
        return real_train_model(model, train, validation, **options)

    monkeypatch.setattr(voice2series.estimator, "train_model", spy)
    # A random head: a logistic start is a candidate epoch 0 (tested below), which this rule leaves out.
    clf = tiny_classifier(
        early_stopping=True, max_epochs=12, n_iter_no_change=3, batch_size=32, head_init="random"
    ).fit(X, y)
    assert_best_epoch_kept(clf.history_, clf.best_epoch_, n_iter_no_change=3, max_epochs=12)
    loss, accuracy = validation_scores(clf.model_, seen["validation"], 32)
    kept = clf.history_[clf.best_epoch_ - 1]
    # Training scores validation through the amortised first layer, this check
    # through the plain path: equal within float32 rounding (the amortised first layer's tests below).
    assert (accuracy, loss) == pytest.approx((kept["val_accuracy"], kept["val_loss"]), rel=1e-5)


@pytest.mark.parametrize("early_stopping", [False, "auto"])
def test_without_early_stopping_the_last_epoch_is_kept(small_xy, early_stopping):
    X, y = small_xy  # 24 series: "auto" trains on all of them
    clf = tiny_classifier(early_stopping=early_stopping, max_epochs=2).fit(X, y)
    assert clf.best_epoch_ == 2 and clf.history_[0]["val_loss"] is None


def test_auto_early_stopping_turns_on_for_large_training_sets():
    X = np.random.default_rng(0).normal(size=(200, 8))
    clf = tiny_classifier(max_epochs=1).fit(X, [0, 1] * 100)
    assert clf.history_[0]["val_accuracy"] is not None


def test_too_few_per_class_for_validation_warns_and_trains():
    X = np.random.default_rng(0).normal(size=(5, 10))
    with pytest.warns(UserWarning, match="validation split"):
        tiny_classifier(early_stopping=True, max_epochs=1).fit(X, [0, 0, 0, 0, 1])


# ---------------------------------------------------------------- schedules
def test_cosine_schedule_anneals_every_group_to_zero_over_max_epochs():
    weights = [torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)]
    optimizer = torch.optim.Adam([{"params": weights[:1]}, {"params": weights[1:], "lr": 1e-4}], lr=0.01)
    scheduler = _make_scheduler(optimizer, "cosine", max_epochs=10)
    rates = []
    for _ in range(10):
        rates.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    for epoch, (program_rate, source_rate) in enumerate(rates):
        factor = (1 + math.cos(math.pi * epoch / 10)) / 2
        assert program_rate == pytest.approx(0.01 * factor)
        assert source_rate == pytest.approx(1e-4 * factor)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_constant_schedule_keeps_the_step_size():
    optimizer = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=0.01)
    scheduler = _make_scheduler(optimizer, "constant", max_epochs=5)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 0.01


def test_cosine_schedule_changes_what_is_learned(small_xy):
    X, y = small_xy
    constant = tiny_classifier(max_epochs=4).fit(X, y)
    cosine = tiny_classifier(max_epochs=4, lr_schedule="cosine").fit(X, y)
    # Epoch 1 runs at the full rate under both schedules; later epochs differ.
    assert not np.allclose(constant.program_, cosine.program_)


# ---------------------------------------------------------- label smoothing
def test_label_smoothing_is_the_training_loss(small_xy):
    X, y = small_xy
    # A negligible step size keeps the model at its initialisation, so the
    # first epoch's loss can be recomputed from the fitted probabilities.
    frozen = {"max_epochs": 1, "learning_rate": 1e-12}
    plain = tiny_classifier(**frozen).fit(X, y)
    smoothed = tiny_classifier(**frozen, label_smoothing=0.3).fit(X, y)
    log_p = np.log(plain.predict_proba(X))
    targets = np.searchsorted(plain.classes_, y)
    cross_entropy = -log_p[np.arange(len(y)), targets].mean()
    uniform = -log_p.mean()
    assert plain.history_[0]["train_loss"] == pytest.approx(cross_entropy, rel=1e-4)
    assert smoothed.history_[0]["train_loss"] == pytest.approx(0.7 * cross_entropy + 0.3 * uniform, rel=1e-4)


@pytest.mark.slow
def test_label_smoothing_makes_the_model_less_confident(italy):
    (X, y), _ = italy
    # The logits readout: with the inner readout's 816 inputs, 15 epochs of
    # Adam at lr 0.01 leave the head far from the smoothed optimum (mean top
    # probability 0.983 with smoothing 0.5, whose optimum is 0.75;
    # docs/accuracy.md, round 3), so the comparison says nothing there.
    # No refit: the refitted head is a plain logistic regression, so smoothing would shape the program only.
    plain = tiny_classifier(max_epochs=15, readout="logits", refit_head=False).fit(X, y)
    smoothed = tiny_classifier(max_epochs=15, readout="logits", refit_head=False, label_smoothing=0.5).fit(X, y)
    assert smoothed.predict_proba(X).max(axis=1).mean() < plain.predict_proba(X).max(axis=1).mean() - 0.03


# ---------------------------------------------------------- mapping refresh
@pytest.mark.parametrize(
    "params, expected_epochs",
    [
        ({"mapping": "flm"}, [1]),
        ({"mapping": "ilm", "mapping_update_every": 2}, [1, 3, 5]),
        ({"mapping": "blm"}, [1, 2, 3, 4, 5]),
        ({"mapping": "blm++", "mapping_update_every": 4}, [1, 5]),
    ],
)
def test_mapping_is_refreshed_at_the_start_of_due_epochs(small_xy, monkeypatch, params, expected_epochs):
    X, y = small_xy
    epochs_due, refreshes = [], []
    from voice2series import training

    original = training._refresh_mapping

    def spy(model, placed, targets, batch_size, epoch, *cache):
        if model.mapping.refresh_due(epoch):
            epochs_due.append(epoch)
        return original(model, placed, targets, batch_size, epoch, *cache)

    monkeypatch.setattr(training, "_refresh_mapping", spy)
    for cls in (FrequencyMapping, BayesianMapping):
        real = cls.refresh
        monkeypatch.setattr(cls, "refresh", lambda self, *a, real=real: refreshes.append(1) or real(self, *a))
    clf = tiny_classifier(max_epochs=5, **params).fit(X, y)
    assert epochs_due == expected_epochs
    assert len(refreshes) == len(expected_epochs)
    # Every refresh sends the 24 training series through the source once more.
    assert clf.n_queries_ == 24 * (5 + len(expected_epochs))


# ---------------------------------------------------- source: frozen or tuned
def test_source_weights_unchanged_by_fit(small_xy):
    X, y = small_xy
    source = CrepeSource("tiny")
    before = {k: v.clone() for k, v in source.state_dict().items()}
    tiny_classifier(source=source, mapping="linear", max_epochs=2).fit(X, y)
    for key, value in source.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def _changed(model_source):
    fresh = CrepeSource("tiny").state_dict()
    return {key: not torch.equal(value, fresh[key]) for key, value in model_source.state_dict().items()}


@pytest.mark.parametrize("finetune", ["none", "last", "all"])
def test_finetune_changes_exactly_the_chosen_source_weights(small_xy, finetune):
    X, y = small_xy
    # The logits readout: it reads every layer, so "all" moves every weight.
    clf = tiny_classifier(finetune=finetune, readout="logits", max_epochs=1, views="series", time_scales="1").fit(X, y)
    changed = _changed(clf.model_.source)
    buffers = {key for key, _ in clf.model_.source.named_buffers()}
    assert not any(changed[key] for key in buffers)  # batch-norm statistics never move
    parameters = [key for key in changed if key not in buffers]
    expected = {"none": set(), "last": {"classifier.weight", "classifier.bias"}, "all": set(parameters)}
    assert {key for key in parameters if changed[key]} == expected[finetune]


def test_finetune_copies_a_source_instance_instead_of_changing_it(small_xy):
    X, y = small_xy
    source = CrepeSource("tiny")
    before = {k: v.clone() for k, v in source.state_dict().items()}
    clf = tiny_classifier(source=source, finetune="last", max_epochs=1).fit(X, y)
    assert clf.model_.source is not source
    for key, value in source.state_dict().items():
        assert torch.equal(value, before[key])
    assert not any(p.requires_grad for p in source.parameters())


def test_sample_specific_mask_trains_end_to_end(small_xy):
    X, y = small_xy
    one = tiny_classifier(sample_specific_mask=True, max_epochs=1).fit(X, y)
    three = tiny_classifier(sample_specific_mask=True, max_epochs=3).fit(X, y)
    for (name, a), b in zip(one.model_.program.mask_net.named_parameters(), three.model_.program.mask_net.parameters()):
        assert not torch.equal(a, b), name
    model = three.model_
    placed = model.program.place(torch.tensor(X, dtype=torch.float32))
    torch.nn.functional.cross_entropy(model(placed), torch.zeros(24, dtype=torch.long)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.program.mask_net.parameters())


# ------------------------------------------------------------------ devices
@pytest.mark.parametrize("score", [predict_logits, source_outputs])
@pytest.mark.parametrize("training", [True, False])
def test_scoring_leaves_the_model_in_the_mode_it_found(score, training):
    source = from_module(nn.Linear(64, 8), sample_rate=8000, input_length=64)
    model = ReprogrammedModel(
        InputProgram(64, 16, dropout=0.5), source, make_mapping("linear", 8, 2, np.random.default_rng(0))
    )
    model.train(training)
    score(model, torch.zeros(3, 64), batch_size=2)
    assert model.training is training and model.program.training is training


def test_bad_device_is_named():
    with pytest.raises(ValueError, match="device must be"):
        tiny_classifier(device="gpu", max_epochs=1).fit(*random_xy())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_says_what_to_use():
    with pytest.raises(ValueError, match="use device='cpu'"):
        tiny_classifier(device="cuda", max_epochs=1).fit(*random_xy())


def test_inverse_time_decay_follows_keras_legacy_decay_per_step():
    weights = [torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)]
    optimizer = torch.optim.Adam([{"params": weights[:1]}, {"params": weights[1:], "lr": 1e-4}], lr=0.05)
    scheduler = _make_scheduler(optimizer, "inverse-time", max_epochs=3, lr_decay=0.48)
    rates = []
    for step in range(12):
        rates.append([group["lr"] for group in optimizer.param_groups])  # the rate this update uses
        weights[0].grad = torch.ones(3)
        weights[1].grad = torch.ones(2)
        optimizer.step()
        if step % 4 == 3:
            scheduler.step()  # the per-epoch call must not decay it further
    for t, (program_rate, source_rate) in enumerate(rates):
        # Keras: lr_t = lr / (1 + decay * iterations), iterations = updates done before this one.
        assert program_rate == pytest.approx(0.05 / (1 + 0.48 * t))
        assert source_rate == pytest.approx(1e-4 / (1 + 0.48 * t))


def test_program_penalty_is_l2_times_squared_norm():
    model = build_model(tiny_classifier(program_init="glorot").get_params(), (1, 24), 2, np.random.RandomState(0))
    delta = model.program.delta.detach().double()
    assert program_penalty(model, 0.05).item() == pytest.approx(0.05 * float((delta**2).sum()), rel=1e-5)


def test_training_loss_includes_the_l2_term_and_its_gradient():
    params = tiny_classifier(program_init="glorot", mapping="sequential").get_params()
    model = build_model(params, (1, 24), 2, np.random.RandomState(0))
    placed = model.program.place(torch.randn(8, 24))
    targets = torch.tensor([0, 1] * 4)
    delta = model.program.delta.detach().clone()
    with torch.no_grad():
        model.train()
        expected = F.cross_entropy(model(placed), targets).item() + 0.05 * float((delta.double() ** 2).sum())
    # Plain SGD with lr=1 on one full batch: the step is the gradient itself.
    optimizer = torch.optim.SGD([model.program.delta], lr=1.0)
    without = build_model(params, (1, 24), 2, np.random.RandomState(0))
    without.program.delta.data.copy_(delta)
    optimizer_without = torch.optim.SGD([without.program.delta], lr=1.0)
    generator = torch.Generator().manual_seed(0)
    loss, _ = _train_one_epoch(model, optimizer, placed, targets, 8, generator, program_l2=0.05)
    _train_one_epoch(without, optimizer_without, placed, targets, 8, torch.Generator().manual_seed(0))
    assert loss == pytest.approx(expected, rel=1e-5)
    # The penalty's gradient is 2 * 0.05 * delta, on top of the cross-entropy's.
    step_with = delta - model.program.delta.detach()
    step_without = delta - without.program.delta.detach()
    assert torch.allclose(step_with - step_without, 0.1 * delta, atol=1e-6)


# ------------------------------------------------ official training options
def test_glorot_init_and_l2_change_what_is_learned(small_xy):
    X, y = small_xy
    base = tiny_classifier(max_epochs=2, mapping="sequential", mapping_reduction="probabilities").fit(X, y)
    glorot = tiny_classifier(
        max_epochs=2, mapping="sequential", mapping_reduction="probabilities", program_init="glorot", program_l2=0.05
    ).fit(X, y)
    assert not np.allclose(base.program_, glorot.program_)


# ------------------------------------------------- amortised first layer
# The amortised first layer (split source calls) against the plain path.
#
# Comparisons allow a difference of 1e-5 relative to the largest magnitude of
# the compared tensor. The reference is the plain path in float64: in float32
# the plain path's own program gradient can be off by 4e-4 of its scale (the
# frame normalisation's backward cancels), while the split path, which keeps
# the frame statistics in float64, stays within 1e-6 of it.
TOLERANCE = 1e-5

# (input_length, hop_length, pooling, segments, placement)
LAYOUTS = [
    (1024, None, "mean", 1, "start"),
    (1024, None, "mean", 3, "centre"),
    (2048, 512, "mean", 1, "centre"),
    (3000, 512, "mean", 3, "start"),
    (2048, 512, "concat", 1, "start"),
    (3000, 512, "concat", 3, "centre"),
]


def assert_same(actual, expected, tolerance=TOLERANCE):
    expected = expected.to(actual.dtype)
    scale = expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=tolerance, atol=tolerance * scale)


def make_model(
    input_length=1024,
    hop_length=None,
    pooling="mean",
    segments=1,
    placement="start",
    series_length=50,
    dropout=0.0,
    n_classes=3,
    seed=0,
):
    """A CREPE-tiny model with a random program and linear head."""
    torch.manual_seed(seed)
    source = CrepeSource("tiny", input_length, hop_length, pooling)
    program = InputProgram(input_length, series_length, segments, placement, dropout)
    with torch.no_grad():
        program.delta.normal_(0.0, 0.5)
    mapping = make_mapping("linear", source.n_outputs, n_classes, np.random.default_rng(seed))
    return ReprogrammedModel(program, source, mapping)


def random_batch(model, n_series=6, seed=1):
    generator = torch.Generator().manual_seed(seed)
    series = torch.randn(n_series, model.program.series_length, generator=generator)
    targets = torch.randint(0, 3, (n_series,), generator=generator)
    return model.program.place(series), targets


def loss_and_gradient(model, placed, targets, series_part=None):
    """Logits, cross-entropy and its gradient with respect to the program."""
    model.program.delta.grad = None
    logits = model(placed, series_part)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    return logits.detach(), loss.detach(), model.program.delta.grad.clone()


def plain_and_split(model, placed, targets, batch_size=4):
    """(plain, split) results, each (logits, loss, gradient)."""
    cache = model.series_cache(placed, batch_size)
    assert cache is not None and cache.stored is not None
    return loss_and_gradient(model, placed, targets), loss_and_gradient(model, placed, targets, cache.rows(slice(None)))


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: "-".join(map(str, layout)))
def test_split_logits_loss_and_program_gradient_equal_the_plain_path(layout):
    model = make_model(*layout)
    placed, targets = random_batch(model)
    _, split = plain_and_split(model, placed, targets)
    reference, _ = plain_and_split(copy.deepcopy(model).double(), placed.double(), targets)
    for split_value, plain_value in zip(split, reference):
        assert_same(split_value, plain_value)
    assert reference[2].abs().max() > 0  # the gradient comparison compares something


@pytest.mark.parametrize("layout", LAYOUTS[1::2], ids=lambda layout: "-".join(map(str, layout)))
def test_in_double_precision_the_two_paths_agree_to_rounding(layout):
    # The formula itself, without float32 noise: any error in it (a biased
    # standard deviation changes outputs by about 5e-4) shows at 1e-9.
    model = make_model(*layout).double()
    placed, targets = random_batch(model)
    plain, split = plain_and_split(model, placed.double(), targets)
    for split_value, plain_value in zip(split, plain):
        assert_same(split_value, plain_value, tolerance=1e-9)


def test_a_zero_program_and_frames_without_series_match_too():
    # Frames that hold neither series nor program are constant: torch.std is
    # 0 there and clamped, the case where a square root's gradient blows up.
    model = make_model(3000, 512, "mean", series_length=100)
    with torch.no_grad():
        model.program.delta.zero_()
    placed, targets = random_batch(model)
    plain, split = plain_and_split(model, placed, targets)
    assert torch.isfinite(split[2]).all()
    for split_value, plain_value in zip(split, plain):
        assert_same(split_value, plain_value)


def test_the_source_gives_the_same_scores_for_a_split_batch():
    source = CrepeSource("tiny", 2048, 512, "concat")
    program = InputProgram(2048, 40, 3, "centre")
    with torch.no_grad():
        program.delta.normal_()
    series = program.place(torch.randn(5, 40))
    shared = program.shared_program()
    assert_same(source(SplitBatch(source.series_part(series), shared)), source(series + shared))


def test_program_dropout_is_drawn_once_per_batch_as_in_the_plain_path():
    model = make_model(dropout=0.3).double().train()
    placed, targets = random_batch(model)
    cache = model.series_cache(placed.double(), 6)
    torch.manual_seed(5)
    plain = loss_and_gradient(model, placed.double(), targets)
    torch.manual_seed(5)
    split = loss_and_gradient(model, placed.double(), targets, cache.rows(slice(None)))
    for split_value, plain_value in zip(split, plain):
        assert_same(split_value, plain_value, tolerance=1e-9)


def test_rows_beyond_the_byte_limit_are_computed_per_batch():
    model = make_model(2048, 512)
    placed, _ = random_batch(model)
    stored = model.series_cache(placed, 4)
    unstored = model.series_cache(placed, 4, max_bytes=stored.nbytes - 1)
    assert unstored.stored is None and unstored.nbytes == 0
    index = torch.tensor([4, 0, 2])
    for a, b in zip(unstored.rows(index), stored.rows(index)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert_same(model(placed[index], unstored.rows(index)), model(placed[index]))


def test_prediction_and_source_outputs_with_a_cache_equal_the_plain_path():
    model = make_model(3000, 512, "concat", 3)
    placed, _ = random_batch(model, n_series=7)
    cache = model.series_cache(placed, 4)
    # 7 rows in batches of 4: the last chunk is padded, series part included.
    assert_same(predict_logits(model, placed, 4, cache=cache), predict_logits(model, placed, 4))
    assert_same(predict_logits(model, placed, 4, pad=False, cache=cache), predict_logits(model, placed, 4))
    assert_same(source_outputs(model, placed, 4, cache), source_outputs(model, placed, 4))


def test_split_calls_are_counted_as_queries_like_plain_ones():
    model = make_model()
    placed, _ = random_batch(model)
    counter = QueryCounter()
    with counter.attached(model.source):
        model(placed)
        model(placed, model.series_cache(placed, 6).rows(slice(0, 4)))
    # 6 plain + 6 to build the cache (computed outside the source call) is
    # not a query + 4 split.
    assert counter.count == 6 + 4


# ------------------------------------------------------------ when it applies
def test_the_model_runs_plain_where_the_split_would_be_wrong_or_useless():
    model = make_model()
    placed, _ = random_batch(model)
    assert model.amortises()
    model.amortise = False
    assert model.series_cache(placed, 4) is None
    model.amortise = True
    # finetune="all": the first layer trains, so a stored series part goes stale.
    model.source.convs[0].weight.requires_grad_(True)
    assert not model.amortises()
    model.source.convs[0].weight.requires_grad_(False)
    model.source.classifier.weight.requires_grad_(True)  # finetune="last" keeps it
    assert model.amortises()
    masked = ReprogrammedModel(InputProgram(1024, 50, sample_specific_mask=True), model.source, model.mapping)
    assert not masked.amortises()


def test_a_source_without_the_capability_trains_on_the_plain_path(small_xy):
    net = torch.nn.Sequential(torch.nn.Linear(256, 16), torch.nn.Tanh())
    source = from_module(net, sample_rate=8000, input_length=256)
    assert not source.additive_split
    with pytest.raises(NotImplementedError, match="does not split"):
        source.series_part(torch.zeros(1, 256))
    X, y = small_xy
    # At its own length only: stretched members would make fixed members with a cache of their own.
    clf = V2SClassifier(source=source, time_scales="1", max_epochs=2, batch_size=8, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.3
    assert clf.model_.series_cache(torch.zeros(2, 256), 8) is None


# ------------------------------------------------------------------ full fits
def train_both_ways(layout, placed, targets, validation=None, **options):
    """The same double-precision fit on both paths: (amortised, plain) models and histories."""
    results = []
    for amortise in (True, False):
        # Built afresh: a deep copy would rebuild the source in float32.
        trained = make_model(*layout, dropout=0.2).double()
        trained.amortise = amortise
        torch.manual_seed(3)  # program dropout
        history, _ = train_model(
            trained,
            (placed, targets),
            validation,
            learning_rate=0.01,
            weight_decay=1e-4,
            batch_size=4,
            max_epochs=3,
            n_iter_no_change=10,
            generator=torch.Generator().manual_seed(0),
            **options,
        )
        results.append((trained, history))
    return results


def test_a_short_fit_learns_the_same_program_on_both_paths(monkeypatch):
    layout = (3000, 512, "concat", 3, "centre")
    caches = []
    real = ReprogrammedModel.series_cache
    monkeypatch.setattr(
        ReprogrammedModel, "series_cache", lambda self, *a, **k: caches.append(real(self, *a, **k)) or caches[-1]
    )
    model = make_model(*layout, dropout=0.2).double()
    placed, targets = random_batch(model, n_series=16)
    placed = placed.double()
    validation = placed[12:], targets[12:]
    (amortised, history), (plain, reference) = train_both_ways(layout, placed[:12], targets[:12], validation)
    # Amortised: once for the training and once for the validation series,
    # not per epoch; plain: asked once, no cache.
    assert [cache is not None for cache in caches] == [True, True, False] and len(history) == 3
    assert (plain.program.delta - model.program.delta).abs().max() > 1e-3  # it did learn
    assert_same(amortised.program.delta.detach(), plain.program.delta.detach(), tolerance=1e-8)
    assert_same(amortised.mapping.weight.detach(), plain.mapping.weight.detach(), tolerance=1e-8)
    for record, expected in zip(history, reference):
        for key in ("train_loss", "val_loss"):
            assert record[key] == pytest.approx(expected[key], rel=1e-8)


def test_the_estimator_fits_on_the_amortised_path_and_lands_close_to_the_plain_one(small_xy, monkeypatch):
    # In float32 the two paths round differently and Adam's normalised steps
    # amplify that where a gradient is near zero: measured, the programs
    # differ by 1e-3 of their norm after 4 epochs. Exactness is the
    # double-precision test above; this one checks the estimator's wiring.
    # One epoch: BLM remaps its labels from argmax counts every epoch, and on
    # an AMD EPYC machine (2026-12-07) the programs were 0.7 % apart after one
    # epoch, 7 % after two, and early stopping kept different epochs after three.
    X, y = small_xy
    caches = []
    real = ReprogrammedModel.series_cache
    monkeypatch.setattr(
        ReprogrammedModel, "series_cache", lambda self, *a, **k: caches.append(real(self, *a, **k)) or caches[-1]
    )
    params = {
        "random_state": 0,
        "batch_size": 8,
        "max_epochs": 1,
        "early_stopping": True,
        "validation_fraction": 0.25,
        "mapping": "blm",
    }
    amortised = V2SClassifier(**params).fit(X, y)
    assert len(caches) == 2 and all(cache.stored is not None for cache in caches)
    monkeypatch.setattr(ReprogrammedModel, "amortise", False)
    plain = V2SClassifier(**params).fit(X, y)
    delta, reference = amortised.model_.program.delta.detach(), plain.model_.program.delta.detach()
    assert (delta - reference).norm() < 1e-2 * reference.norm()
    np.testing.assert_allclose(amortised.predict_proba(X), plain.predict_proba(X), atol=1e-2)
    assert amortised.n_queries_ == plain.n_queries_


# ------------------------------------------------------------ head start
def test_the_logistic_start_fits_the_head_and_alone_draws_from_the_rng():
    torch.manual_seed(0)
    source = from_module(nn.Linear(64, 8), sample_rate=8000, input_length=64)
    program = InputProgram(64, 16)
    X, y = random_xy(n=40, length=16)
    X[y == 1] += 3.0  # separable through the random linear source
    train = program.place(torch.tensor(X, dtype=torch.float32)), torch.as_tensor(y)
    accuracies, draws = {}, {}
    for head_init in ("random", "logistic"):
        model = ReprogrammedModel(program, source, make_mapping("linear", 8, 2, np.random.default_rng(0)))
        rng = np.random.RandomState(0)
        calibrate_mapping(model, train, 8, head_init, rng)
        accuracies[head_init] = (predict_logits(model, train[0], 8).argmax(dim=1) == train[1]).float().mean().item()
        draws[head_init] = rng.randint(2**31)
    assert accuracies["logistic"] == 1.0 > accuracies["random"], accuracies
    # A random start takes no draw, so fits made before head_init existed are unchanged.
    assert draws["random"] == np.random.RandomState(0).randint(2**31) != draws["logistic"]


def test_head_learning_rate_gives_the_head_its_own_step_and_defaults_to_the_programs():
    model = build_model(
        {**V2SClassifier().get_params(), "readout": "logits", "views": "series", "time_scales": "1"},
        (1, 50),
        3,
        np.random.RandomState(0),
    )
    steps = {}
    for head_learning_rate in (None, 1e-4):
        optimizer = _make_optimizer(model, 0.01, 0.0, 1e-4, head_learning_rate)
        by_parameter = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
        steps[head_learning_rate] = (by_parameter[id(model.program.delta)], by_parameter[id(model.mapping.weight)])
    assert steps == {None: (0.01, 0.01), 1e-4: (0.01, 1e-4)}
    clf = tiny_classifier(max_epochs=1, head_learning_rate=1e-4)
    assert training_options(clf.get_params())["head_learning_rate"] == 1e-4


@pytest.fixture
def fitted_rows(monkeypatch):
    """The number of series each ``LinearMapping.fit_logistic`` call of the test is fitted on, in order."""
    rows = []
    real = LinearMapping.fit_logistic

    def counting(self, scores, *args):
        rows.append(len(scores))
        return real(self, scores, *args)

    monkeypatch.setattr(LinearMapping, "fit_logistic", counting)
    return rows


def test_the_probe_is_the_logistic_start_on_every_training_series(small_xy, fitted_rows):
    """max_epochs=0: no epoch, no validation split (even when early stopping would carve one)."""
    X, y = small_xy
    probe = tiny_classifier(max_epochs=0, head_init="logistic", train_program=False, early_stopping=True).fit(X, y)
    assert fitted_rows == [len(y)]
    assert probe.history_ == [] and probe.best_epoch_ == 0
    assert not probe.program_.any()
    assert probe.score(X, y) == 1.0  # a logistic regression of a handful of series fits them


@pytest.mark.parametrize(
    "refit_head, early_stopping, refitted_rows",
    [(False, True, []), ("auto", True, [24]), ("auto", False, [24]), (True, False, [24]), (False, False, [])],
)
def test_refit_head_refits_the_head_on_every_training_series(
    small_xy, fitted_rows, refit_head, early_stopping, refitted_rows
):
    """After the logistic start (on the 18 series training used when 6 are held out), the refit sees all 24."""
    X, y = small_xy
    params = {"head_init": "logistic", "head_learning_rate": 0.0, "validation_fraction": 0.25, "max_epochs": 2}
    clf = tiny_classifier(early_stopping=early_stopping, refit_head=refit_head, **params).fit(X, y)
    assert fitted_rows == [18 if early_stopping else 24, *refitted_rows]
    if refitted_rows:
        # Standardised on, and fitted to, every series through the program the model kept.
        every_series = source_outputs(clf.model_, clf._placed(clf.model_, X[:, None, :]), 8)
        torch.testing.assert_close(clf.model_.mapping.shift, every_series.mean(dim=0), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize(
    "params, refits",
    [
        ({}, True),  # the default: the kept logistic start
        ({"head_learning_rate": None}, False),  # a head trained with the program
        ({"head_init": "random"}, False),
        ({"mapping": "random"}, False),  # no linear head
        ({"training": "black-box"}, False),  # a refit would spend queries
    ],
)
def test_refit_head_auto_refits_the_kept_logistic_start_only(params, refits):
    resolved = resolve_auto(V2SClassifier(**params).get_params())
    assert resolved["refit_head"] is refits


def test_the_default_refits_the_head_as_refit_head_true_does(small_xy):
    X, y = small_xy
    default = tiny_classifier(max_epochs=2).fit(X, y)
    refitted = tiny_classifier(max_epochs=2, refit_head=True).fit(X, y)
    kept = tiny_classifier(max_epochs=2, refit_head=False).fit(X, y)
    np.testing.assert_array_equal(default.predict_proba(X), refitted.predict_proba(X))
    np.testing.assert_array_equal(default.program_, kept.program_)  # the refit comes after training
    assert not np.array_equal(default.model_.mapping.weight.detach(), kept.model_.mapping.weight.detach())


def test_refit_head_needs_a_linear_head(small_xy):
    X, y = small_xy
    with pytest.raises(ValueError, match="refit_head=True refits a linear head.*mapping='random'"):
        tiny_classifier(max_epochs=1, mapping="random", refit_head=True).fit(X, y)
    # "auto" is a rule, not a request: without a linear head it keeps the mapping.
    tiny_classifier(max_epochs=1, mapping="random", refit_head="auto").fit(X, y)


def test_refit_head_counts_its_queries_against_the_budget(small_xy):
    X, y = small_xy
    params = {"training": "black-box", "zo_queries": 1, "max_epochs": 1, "head_init": "logistic"}
    kept = tiny_classifier(**params).fit(X, y)
    refitted = tiny_classifier(refit_head=True, **params).fit(X, y)
    assert refitted.n_queries_ == kept.n_queries_ + len(y)
    with pytest.raises(ValueError, match="Refitting the head .* raise query_budget or pass refit_head=False"):
        tiny_classifier(refit_head=True, query_budget=kept.n_queries_, **params).fit(X, y)


def test_a_zero_head_learning_rate_keeps_the_head_while_the_program_trains(small_xy):
    X, y = small_xy
    start = tiny_classifier(max_epochs=0, head_init="logistic").fit(X, y)
    fixed = tiny_classifier(max_epochs=3, head_init="logistic", head_learning_rate=0.0, refit_head=False).fit(X, y)
    torch.testing.assert_close(fixed.model_.mapping.weight, start.model_.mapping.weight)
    torch.testing.assert_close(fixed.model_.mapping.bias, start.model_.mapping.bias)
    assert fixed.program_.any()


def test_a_logistic_start_that_no_epoch_beats_on_validation_is_kept(small_xy):
    """Early stopping counts the logistic start as epoch 0: a program trained at a
    step that wrecks the features cannot replace it."""
    X, y = small_xy
    params = {"early_stopping": True, "validation_fraction": 0.25, "max_epochs": 3, "n_iter_no_change": 3}
    wrecked = tiny_classifier(head_init="logistic", head_learning_rate=0.0, learning_rate=1000.0, **params).fit(X, y)
    assert wrecked.best_epoch_ == 0 and len(wrecked.history_) == 3
    assert not wrecked.program_.any()  # the start's program, zero, is what the model holds
    # A random start is no model: the best trained epoch is kept, as before.
    assert tiny_classifier(learning_rate=1000.0, head_init="random", **params).fit(X, y).best_epoch_ >= 1


# ------------------------------------------------------------- tempered loss
def test_the_temperature_makes_the_loss_the_target():
    logits = torch.tensor([[4.0, -4.0], [-3.0, 3.0], [5.0, 0.0], [0.5, -0.5]])
    targets = torch.tensor([0, 1, 0, 0])
    temperature = temperature_for_loss(logits, targets, 0.4)
    assert temperature > 1
    assert F.cross_entropy(logits / temperature, targets).item() == pytest.approx(0.4, abs=1e-5)
    # Already as unsure as the target, or a target beyond reach (log 2 is the most two classes can lose).
    assert temperature_for_loss(logits, targets, 0.001) == 1.0
    assert temperature_for_loss(logits, targets, 0.9) == voice2series.training.MAX_LOSS_TEMPERATURE


def test_a_tempered_epoch_steps_on_the_tempered_loss():
    """train_one_epoch divides the logits by the temperature before the cross-entropy: the loss it
    reports and the gradient it steps on are those of logits / T."""
    weight = nn.Parameter(torch.tensor([[3.0, -1.0], [-2.0, 1.0]]))
    inputs, targets = torch.tensor([[1.0, 0.5], [0.2, 1.0], [1.0, 1.0]]), torch.tensor([0, 1, 0])
    model = nn.Module()
    model.weight = weight
    optimizer = torch.optim.SGD([weight], lr=1.0)
    loss, _ = train_one_epoch(
        model, optimizer, targets, lambda batch: inputs[batch] @ weight.T, 8, torch.Generator(), temperature=4.0
    )
    start = torch.tensor([[3.0, -1.0], [-2.0, 1.0]], requires_grad=True)
    expected = F.cross_entropy(inputs @ start.T / 4.0, targets)
    expected.backward()
    assert loss == pytest.approx(expected.item())
    torch.testing.assert_close(weight.detach(), (start - start.grad).detach())


def test_the_tempered_program_starts_at_the_heads_held_out_loss(small_xy):
    """program_loss="tempered": the first epoch (one mini-batch, so the program is still zero when it
    is scored) has the logistic start's cross-validated loss as its training loss; the head is the
    start's, and its predictions do not read the temperature."""
    X, y = small_xy
    # Without the refit that would replace the head after training (refit_head="auto").
    tempered = tiny_classifier(program_loss="tempered", max_epochs=1, batch_size=64, refit_head=False).fit(X, y)
    plain = tiny_classifier(max_epochs=1, batch_size=64, refit_head=False).fit(X, y)
    assert tempered.loss_temperature_ > 1 and plain.loss_temperature_ == 1.0
    assert tempered.history_[0]["train_loss"] == pytest.approx(tempered.head_cv_log_loss_, rel=1e-4)
    assert plain.history_[0]["train_loss"] < plain.head_cv_log_loss_  # the start is surer of its own series
    torch.testing.assert_close(tempered.model_.mapping.weight, plain.model_.mapping.weight)
    frozen = tiny_classifier(program_loss="tempered", max_epochs=1, learning_rate=1e-12, refit_head=False).fit(X, y)
    probe = tiny_classifier(max_epochs=0, train_program=False).fit(X, y)
    np.testing.assert_allclose(frozen.predict_proba(X), probe.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("params", [{"mapping": "random"}, {"head_init": "random"}, {"training": "black-box"}])
def test_the_tempered_loss_refuses_a_model_without_a_logistic_start_or_gradients(small_xy, params):
    with pytest.raises(ValueError, match="program_loss='tempered'.*needs head_init='logistic'"):
        tiny_classifier(program_loss="tempered", max_epochs=1, **params).fit(*small_xy)


# ------------------------------------------------------------------- views
def test_views_give_one_program_and_source_pass_per_view_under_one_head(small_xy, tmp_path):
    """views="series+diff": the series and its difference each in their own waveform, with their own
    program; the head reads both views' inner statistics, and the model pickles, saves and loads (its
    joint source names CREPE-tiny twice, rebuilt from the member specs it wrote)."""
    X, y = small_xy
    clf = tiny_classifier(views="series+diff", time_scales="1", max_epochs=2).fit(X, y)
    programs = clf.model_.program.programs
    assert [program.view for program in programs] == ["series", "diff"]
    assert all(program.delta.abs().sum() > 0 for program in programs)
    assert clf.model_.source.name == "crepe-tiny+crepe-tiny" and clf.readout_ == "inner+inner"
    single = tiny_classifier(max_epochs=0, views="series", time_scales="1", train_program=False).fit(X, y)
    assert clf.mapping_.shape == (3, 2 * single.mapping_.shape[1])
    # The second view's part of the source output is what a diff-only model reads at delta = 0.
    at_length = {"time_scales": "1", "max_epochs": 0, "head_init": "logistic", "train_program": False}
    zero = tiny_classifier(views="series+diff", **at_length).fit(X, y)
    diff_only = tiny_classifier(views="diff", **at_length).fit(X, y)
    series_3d = X[:, None, :]
    with torch.no_grad():
        both = zero.model_.source(zero.model_.program.place_series(series_3d))
        alone = diff_only.model_.source(diff_only.model_.program.place_series(series_3d))
    torch.testing.assert_close(both[:, both.shape[1] // 2 :], alone)
    expected = clf.predict_proba(X)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected, atol=1e-6)
    clf.save(tmp_path / "views.v2s")
    np.testing.assert_allclose(V2SClassifier.load(tmp_path / "views.v2s").predict_proba(X), expected, atol=1e-6)


def test_views_of_a_joint_source_give_a_member_per_view_and_source_views_outermost():
    params = tiny_classifier(source="crepe-tiny+crepe-full", views="diff+series", time_scales="1").get_params()
    model = build_model(params, (1, 30), 3, np.random.RandomState(0))
    members = [(program.view, source.name) for program, source in zip(model.program.programs, model.source.members)]
    tiny, full = "crepe-tiny", "crepe-full"
    assert members == [("diff", tiny), ("diff", full), ("series", tiny), ("series", full)]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"views": "series+series"}, "'views' parameter"),
        ({"views": "series+fft"}, "'views' parameter"),
        ({"views": "series+diff", "mapping": "random"}, "views='series\\+diff' joins several waveforms"),
    ],
)
def test_bad_views_are_refused_with_the_fix(small_xy, params, message):
    X, y = small_xy
    with pytest.raises(ValueError, match=message):
        tiny_classifier(max_epochs=1, **params).fit(X, y)


# ------------------------------------------------------------- time scales
def test_a_time_scale_stretches_each_view_into_its_own_waveform_and_program():
    """time_scales="1+4": each view at its own length and stretched 4 times (linear interpolation),
    views outermost; the stretched member reads what a model built for the stretched series reads."""
    X = np.random.default_rng(0).normal(size=(5, 1, 30))
    params = tiny_classifier(views="series+diff", time_scales="1+4").get_params()
    model = build_model(params, (1, 30), 3, np.random.RandomState(0))
    layouts = [(program.view, program.series_length) for program in model.program.programs]
    assert layouts == [("series", 30), ("series", 120), ("diff", 30), ("diff", 120)]
    stretched = resample_series(torch.tensor(X[:, 0], dtype=torch.float32), 120).numpy()[:, None, :]
    alone = build_model({**params, "views": "series", "time_scales": "1"}, (1, 120), 3, np.random.RandomState(0))
    with torch.no_grad():
        outputs = model.source(model.program.place_series(X)).chunk(4, dim=1)
        expected = alone.source(alone.program.place_series(stretched.astype(np.float64)))
    torch.testing.assert_close(outputs[1], expected)


def test_a_model_with_time_scales_trains_every_program_and_loads_as_saved(small_xy, tmp_path):
    X, y = small_xy
    params = {"views": "series", "time_scales": "1+4", "program_scales": "all", "max_epochs": 1}
    clf = tiny_classifier(**params, refit_head=False).fit(X, y)
    assert [program.series_length for program in clf.model_.program.programs] == [30, 120]
    assert all(program.delta.abs().sum() > 0 for program in clf.model_.program.programs)
    clf.save(tmp_path / "scales.v2s")
    np.testing.assert_allclose(V2SClassifier.load(tmp_path / "scales.v2s").predict_proba(X), clf.predict_proba(X))


def test_the_default_scales_fit_predict_and_load_as_saved(small_xy, tmp_path):
    """time_scales="auto": the unstretched members stay at delta = 0 through fit, save, load and pickle."""
    X, y = small_xy
    clf = tiny_classifier(time_scales="auto", max_epochs=1).fit(X, y)
    programs = clf.model_.program.programs
    assert [program.series_length for program in programs] == [30, 120, 30, 120]
    assert [bool(program.delta.abs().sum() > 0) for program in programs] == [False, True, False, True]
    expected = clf.predict_proba(X)
    clf.save(tmp_path / "default.v2s")
    np.testing.assert_allclose(V2SClassifier.load(tmp_path / "default.v2s").predict_proba(X), expected, atol=1e-6)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected, atol=1e-6)


def test_a_stretched_long_series_takes_windows_at_its_stretched_length():
    params = tiny_classifier(views="series", time_scales="1+2", resample="windows").get_params()
    model = build_model(params, (1, 400), 3, np.random.RandomState(0))
    layouts = [(program.series_length, len(program.offsets)) for program in model.program.programs]
    assert layouts == [(400, 1), (800, window_layout(800, 1024, hop=params["stretched_window_hop"])[0])]
    assert [source.input_length for source in model.source.members] == [1024, 1024 * layouts[1][1]]


def test_stretched_window_hop_spaces_the_stretched_copies_windows_only(small_xy, tmp_path):
    """stretched_window_hop=1.0: the stretched members' windows end to end, scale 1 still half a window
    apart, through fit, save and load."""
    params = tiny_classifier(views="series", time_scales="1+4", stretched_window_hop=1.0).get_params()
    model = build_model(params, (1, 1460), 3, np.random.RandomState(0))
    frames = [len(program.offsets) for program in model.program.programs]
    assert frames == [window_layout(1460, 1024)[0], window_layout(5840, 1024, hop=1.0)[0]] == [5, 12]
    assert [source.input_length for source in model.source.members] == [1024 * 5, 1024 * 12]
    X, y = small_xy
    X = np.repeat(X, 10, axis=1)  # 300 samples: one window; stretched 4 times, 3 windows instead of 4
    clf = tiny_classifier(time_scales="1+4", stretched_window_hop=1.0, max_epochs=1).fit(X, y)
    assert [len(program.offsets) for program in clf.model_.program.programs] == [1, 3, 1, 3]
    clf.save(tmp_path / "apart.v2s")
    np.testing.assert_allclose(V2SClassifier.load(tmp_path / "apart.v2s").predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("value", [0.0, 1.5, "half"])
def test_a_stretched_window_hop_outside_0_1_is_refused_naming_the_range(small_xy, value):
    with pytest.raises(ValueError, match="'stretched_window_hop' parameter.*range \\(0.0, 1.0\\]"):
        tiny_classifier(stretched_window_hop=value).fit(*small_xy)


@pytest.mark.parametrize("value", ["0", "1+1", "1+01", "one", "1+", "+", "2.5", "١"])
def test_bad_time_scales_are_refused_with_the_form_to_use(small_xy, value):
    with pytest.raises(ValueError, match="'time_scales' parameter.*different positive integers joined by"):
        tiny_classifier(time_scales=value, max_epochs=1).fit(*small_xy)
    with pytest.raises(ValueError, match="different positive integers"):
        time_scales_of(value)


def test_several_time_scales_need_the_linear_head(small_xy):
    with pytest.raises(ValueError, match="time_scales='1\\+2' joins several waveforms"):
        tiny_classifier(time_scales="1+2", views="series", mapping="random", max_epochs=1).fit(*small_xy)


# ------------------------------------------------------- fixed members
def fixed_scales_model(**overrides):
    """Both views at scales 1 and 4, programs trained at scale 1 only (members: series 1, series 4,
    diff 1, diff 4), with random programs where they train."""
    params = tiny_classifier(views="series+diff", time_scales="1+4", program_scales="1", **overrides).get_params()
    model = build_model(params, (1, 30), 3, np.random.RandomState(0))
    generator = torch.Generator().manual_seed(0)
    for program in model.program.programs:
        if program.delta.requires_grad:
            program.delta.data = 0.1 * torch.randn(program.delta.shape, generator=generator)
    return model


def test_program_scales_trains_only_the_programs_of_the_scales_it_names():
    model = fixed_scales_model()
    assert [program.delta.requires_grad for program in model.program.programs] == [True, False, True, False]
    assert model.fixed_members() == [1, 3]
    every = tiny_classifier(time_scales="1+4", program_scales="all").get_params()
    assert build_model(every, (1, 30), 3, np.random.RandomState(0)).fixed_members() == []
    # The default trains the stretched members' programs only (program_scales="auto").
    default = build_model(V2SClassifier().get_params(), (1, 30), 3, np.random.RandomState(0))
    assert [program.delta.requires_grad for program in default.program.programs] == [False, True, False, True]
    probe = tiny_classifier(time_scales="1+4", train_program=False, max_epochs=0).get_params()
    assert build_model(probe, (1, 30), 3, np.random.RandomState(0)).fixed_members() == [0, 1, 2, 3]


def test_the_fixed_members_cache_gives_the_whole_models_scores_and_gradients():
    model = fixed_scales_model()
    placed = model.program.place_series(np.random.default_rng(0).normal(size=(6, 1, 30)))
    cache = model.series_cache(placed, batch_size=4)
    assert isinstance(cache, FixedMemberCache) and sorted(cache.stored) == [1, 3]
    index = torch.tensor([4, 0, 2])
    cached = model(placed[index], cache.rows(index))
    plain = model(placed[index])
    torch.testing.assert_close(cached, plain)
    cached.square().sum().backward()
    from_cache = [p.delta.grad.clone() for p in model.program.programs if p.delta.requires_grad]
    model.zero_grad()
    plain.square().sum().backward()
    for program, expected in zip([p for p in model.program.programs if p.delta.requires_grad], from_cache):
        torch.testing.assert_close(program.delta.grad, expected)
    assert all(model.program.programs[member].delta.grad is None for member in (1, 3))


def test_a_fixed_member_records_no_backward_pass():
    """Its source member gets a waveform without a gradient even when the others' programs train."""
    model = fixed_scales_model()
    needs_grad = {}
    for index, member in enumerate(model.source.members):
        member.register_forward_hook(lambda _, __, out, index=index: needs_grad.update({index: out.requires_grad}))
    model(model.program.place_series(np.random.default_rng(0).normal(size=(2, 1, 30))))
    assert needs_grad == {0: True, 1: False, 2: True, 3: False}


def test_a_joint_source_reads_its_members_apart_or_end_to_end_alike():
    model = fixed_scales_model()
    placed = model.program(model.program.place_series(np.random.default_rng(0).normal(size=(3, 1, 30))))
    parts = list(torch.split(placed, model.source.input_lengths, dim=-1))
    with torch.no_grad():
        torch.testing.assert_close(model.source(MemberBatch(parts)), model.source(placed))
        known = {1: torch.full((3, model.source.members[1].n_outputs), 7.0)}
        outputs = model.source(MemberBatch([parts[0], None, parts[2], parts[3]], known))
    assert len(MemberBatch([None, None, parts[2], None], known)) == 3
    start = model.source.members[0].n_outputs
    assert (outputs[:, start : start + known[1].shape[1]] == 7.0).all()


def _member_calls(monkeypatch, **params):
    """Series each source member of a fit's model was sent, by member."""
    counts = {}
    real = build_model

    def counted(*args, **kwargs):
        model = real(*args, **kwargs)
        for index, member in enumerate(model.source.members):
            member.register_forward_pre_hook(
                lambda module, args, index=index: counts.update({index: counts.get(index, 0) + len(args[0])})
            )
        return model

    monkeypatch.setattr(voice2series.estimator, "build_model", counted)
    X, y = random_xy(n=12, length=30)
    tiny_classifier(views="series", time_scales="1+4", refit_head=False, early_stopping=False, **params).fit(X, y)
    return counts


def test_a_fixed_member_runs_once_per_fit_not_once_per_epoch(monkeypatch):
    """Two more epochs send each training series twice more to the trained member, never to the
    fixed one: it reads each series once, for the head's start, and training reuses those outputs."""
    short = _member_calls(monkeypatch, program_scales="1", max_epochs=2)
    long = _member_calls(monkeypatch, program_scales="1", max_epochs=4)
    assert long[0] - short[0] == 2 * 12
    assert long[1] == short[1] == 12
    every = _member_calls(monkeypatch, program_scales="all", max_epochs=2)
    assert every[1] == every[0] == short[0]


def test_a_fit_with_fixed_members_matches_the_fit_that_runs_them(small_xy, monkeypatch):
    X, y = small_xy
    params = {"views": "series", "time_scales": "1+4", "program_scales": "1", "max_epochs": 2}
    cached = tiny_classifier(**params).fit(X, y)
    monkeypatch.setattr(ReprogrammedModel, "amortise", False)
    plain = tiny_classifier(**params).fit(X, y)
    np.testing.assert_allclose(cached.predict_proba(X), plain.predict_proba(X), atol=1e-4)
    assert cached.model_.program.programs[1].delta.abs().sum() == 0


def test_program_scales_must_name_scales_that_time_scales_reads(small_xy):
    with pytest.raises(ValueError, match="program_scales='4' names scales that time_scales='1\\+2' does not read"):
        tiny_classifier(time_scales="1+2", program_scales="4", max_epochs=1).fit(*small_xy)
    with pytest.raises(ValueError, match="'program_scales' parameter"):
        tiny_classifier(program_scales="some", max_epochs=1).fit(*small_xy)
    assert program_scales_of("all", "1+4") == [1, 4] and program_scales_of("4", "1+4") == [4]


def test_the_default_starts_at_the_probe_keeps_its_head_and_trains_the_stretched_programs_of_both_views(small_xy):
    """Up to the refit after training (refit_head, tested above), which replaces that head: both views
    at their own length and stretched 4 times, the programs trained on the stretched ones only."""
    X, y = small_xy
    probe = tiny_classifier(time_scales="auto", max_epochs=0, train_program=False).fit(X, y)
    clf = tiny_classifier(time_scales="auto", max_epochs=3, refit_head=False).fit(X, y)
    programs = clf.model_.program.programs
    assert [(program.view, program.series_length) for program in programs] == [
        ("series", 30),
        ("series", 120),
        ("diff", 30),
        ("diff", 120),
    ]
    torch.testing.assert_close(clf.model_.mapping.weight, probe.model_.mapping.weight)
    assert [bool(program.delta.abs().sum() > 0) for program in programs] == [False, True, False, True]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ("logistic", 0.0, "series+diff", "1+4", "4")),
        ({"mapping": "random"}, ("random", None, "series", "1", "all")),
        ({"head_init": "random"}, ("random", None, "series+diff", "1+4", "4")),
        ({"train_program": False}, ("logistic", None, "series+diff", "1+4", "4")),
        ({"training": "black-box"}, ("logistic", 0.0, "series", "1", "all")),
        ({"sample_specific_mask": True}, ("logistic", 0.0, "series", "1", "all")),
        ({"views": "diff", "head_learning_rate": 0.5}, ("logistic", 0.5, "diff", "1+4", "4")),
        # program_scales="auto": the stretched scales beside scale 1, else every scale.
        ({"time_scales": "1"}, ("logistic", 0.0, "series+diff", "1", "all")),
        ({"time_scales": "1+2+4"}, ("logistic", 0.0, "series+diff", "1+2+4", "2+4")),
        ({"time_scales": "2+4"}, ("logistic", 0.0, "series+diff", "2+4", "all")),
        ({"program_scales": "1"}, ("logistic", 0.0, "series+diff", "1+4", "1")),
        # The stretched copies need windows that place any length: a framing source, one segment.
        ({"source": "speech-embedding"}, ("logistic", 0.0, "series+diff", "1", "all")),
        ({"source": "crepe-tiny+crepe-full"}, ("logistic", 0.0, "series+diff", "1+4", "4")),
        ({"resample": "auto"}, ("logistic", 0.0, "series+diff", "1", "all")),
        ({"segments": 2}, ("logistic", 0.0, "series+diff", "1", "all")),
    ],
)
def test_auto_defaults_follow_the_mapping_and_what_can_train(params, expected):
    resolved = resolve_auto(V2SClassifier(**params).get_params())
    names = ("head_init", "head_learning_rate", "views", "time_scales", "program_scales")
    assert tuple(resolved[name] for name in names) == expected
    assert resolve_auto(resolved) == resolved


def test_the_default_reads_a_multivariate_series_or_a_custom_source_at_its_own_length(small_xy, tmp_path):
    """Windows place univariate series only, and only a framing source takes a series of any length."""
    assert resolve_auto(V2SClassifier().get_params(), n_channels=2)["time_scales"] == "1"
    X, y = small_xy
    net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh())
    clf = V2SClassifier(from_module(net, 16000, 64), max_epochs=1, random_state=0).fit(X, y)
    assert [program.series_length for program in clf.model_.program.programs] == [30, 30]
    X2 = np.stack([X, X[:, ::-1]], axis=1)  # two channels: stretched ones could outgrow what windows place
    clf = V2SClassifier(max_epochs=1, random_state=0).fit(X2, y)
    assert [program.series_length for program in clf.model_.program.programs] == [30, 30]
    clf.save(tmp_path / "two_channels.v2s")  # rebuilt from get_params(): "auto" decided alike
    np.testing.assert_allclose(
        V2SClassifier.load(tmp_path / "two_channels.v2s").predict_proba(X2), clf.predict_proba(X2)
    )


def test_the_many_to_one_mappings_still_fit_with_the_defaults(small_xy):
    X, y = small_xy
    clf = tiny_classifier(mapping="random", max_epochs=2).fit(X, y)
    assert clf.model_.source.name == "crepe-tiny" and clf.readout_ == "logits"
