"""The amortised first layer (split source calls) against the plain path.

Comparisons allow a difference of 1e-5 relative to the largest magnitude of
the compared tensor. The reference is the plain path in float64: in float32
the plain path's own program gradient can be off by 4e-4 of its scale (the
frame normalisation's backward cancels), while the split path, which keeps
the frame statistics in float64, stays within 1e-6 of it.
"""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from voice2series import V2SClassifier
from voice2series.blackbox import QueryCounter
from voice2series.mapping import make_mapping
from voice2series.program import InputProgram
from voice2series.sources import CrepeSource, SplitBatch, from_module
from voice2series.training import ReprogrammedModel, predict_logits, source_outputs, train_model

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


def make_model(input_length=1024, hop_length=None, pooling="mean", segments=1, placement="start",
               series_length=50, dropout=0.0, n_classes=3, seed=0):
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
    masked = ReprogrammedModel(
        InputProgram(1024, 50, sample_specific_mask=True), model.source, model.mapping
    )
    assert not masked.amortises()


def test_a_source_without_the_capability_trains_on_the_plain_path(small_xy):
    net = torch.nn.Sequential(torch.nn.Linear(256, 16), torch.nn.Tanh())
    source = from_module(net, sample_rate=8000, input_length=256)
    assert not source.additive_split
    with pytest.raises(NotImplementedError, match="does not split"):
        source.series_part(torch.zeros(1, 256))
    X, y = small_xy
    clf = V2SClassifier(source=source, max_epochs=2, batch_size=8, random_state=0).fit(X, y)
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
            trained, (placed, targets), validation, learning_rate=0.01, weight_decay=1e-4, batch_size=4,
            max_epochs=3, n_iter_no_change=10, generator=torch.Generator().manual_seed(0), **options,
        )
        results.append((trained, history))
    return results


def test_a_short_fit_learns_the_same_program_on_both_paths(monkeypatch):
    layout = (3000, 512, "concat", 3, "centre")
    caches = []
    real = ReprogrammedModel.series_cache
    monkeypatch.setattr(ReprogrammedModel, "series_cache",
                        lambda self, *a, **k: caches.append(real(self, *a, **k)) or caches[-1])
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
    X, y = small_xy
    caches = []
    real = ReprogrammedModel.series_cache
    monkeypatch.setattr(ReprogrammedModel, "series_cache",
                        lambda self, *a, **k: caches.append(real(self, *a, **k)) or caches[-1])
    params = {"random_state": 0, "batch_size": 8, "max_epochs": 3, "early_stopping": True,
              "validation_fraction": 0.25, "mapping": "blm"}
    amortised = V2SClassifier(**params).fit(X, y)
    assert len(caches) == 2 and all(cache.stored is not None for cache in caches)
    monkeypatch.setattr(ReprogrammedModel, "amortise", False)
    plain = V2SClassifier(**params).fit(X, y)
    delta, reference = amortised.model_.program.delta.detach(), plain.model_.program.delta.detach()
    assert (delta - reference).norm() < 1e-2 * reference.norm()
    np.testing.assert_allclose(amortised.predict_proba(X), plain.predict_proba(X), atol=1e-2)
    assert amortised.n_queries_ == plain.n_queries_
