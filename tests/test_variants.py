"""Reprogramming variants (issue 6): label mappings, black-box training,
fine-tuning, sample-specific masks."""

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from voice2series import V2SClassifier
from voice2series.blackbox import QueryBudgetExhausted, QueryCounter, zo_gradient
from voice2series.cli import _bench_params, _parser, _run_params
from voice2series.mapping import (
    BayesianMapping,
    FrequencyMapping,
    bayesian_counts,
    bayesian_matrix,
    frequency_counts,
    greedy_assignment,
    make_mapping,
)
from voice2series.program import InputProgram
from voice2series.sources import CrepeSource, from_function, from_module
from voice2series.training import ReprogrammedModel, source_outputs

from .conftest import tiny_classifier


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """The machine is shared; every test here runs on one torch thread."""


def _grad_free_source(n_outputs=6, input_length=64):
    """A black box: a fixed random projection that refuses calls with gradients enabled."""
    weights = torch.randn(input_length, n_outputs, generator=torch.Generator().manual_seed(0))

    def api(waveform):
        if torch.is_grad_enabled():
            raise RuntimeError("the source was called with gradients enabled")
        return torch.tanh(waveform @ weights)

    return from_function(api, sample_rate=8000, input_length=input_length, name="api")


# ------------------------------------------------------------- label mappings
def test_greedy_frequency_mapping_one_to_one_and_k_per_class():
    counts = np.array([[5, 4], [0, 3], [1, 0], [2, 1]])
    # Output 0 is the best for both classes: class 0 takes it (5 > 4), so
    # class 1 falls back to output 1.
    np.testing.assert_array_equal(greedy_assignment(counts, 1), [[0], [1]])
    # k=2: (0,0)=5, then (1,1)=3, then (3,0)=2 fills class 0, then (2,1)=0 vs (3,1) gone.
    np.testing.assert_array_equal(greedy_assignment(counts, 2), [[0, 3], [1, 2]])
    with pytest.raises(ValueError, match="needs 6 source outputs"):
        greedy_assignment(counts, 3)


def test_frequency_counts_are_argmax_by_class():
    scores = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 1.0]])
    targets = torch.tensor([0, 0, 1, 1])
    np.testing.assert_array_equal(frequency_counts(scores, targets, 2).numpy(), [[1, 0], [1, 1], [0, 1]])


def test_flm_refresh_assigns_the_most_frequent_outputs():
    mapping = make_mapping("flm", 3, 2, np.random.default_rng(0))
    assert isinstance(mapping, FrequencyMapping) and mapping.assignment.shape == (2, 1)
    scores = torch.tensor([[0.0, 2.0, 1.0], [0.0, 3.0, 0.0], [0.0, 0.0, 5.0], [1.0, 0.0, 4.0]])
    mapping.refresh(scores, torch.tensor([0, 0, 1, 1]))
    np.testing.assert_array_equal(mapping.assignment.numpy(), [[1], [2]])
    torch.testing.assert_close(mapping(scores), scores[:, [1, 2]])


def test_blm_matrix_equals_hand_computed_values():
    # Source argmaxes 0, 0, 1, 2 for targets 0, 1, 1, 1.
    scores = torch.eye(3)[[0, 0, 1, 2]] * 5.0
    counts = bayesian_counts(scores, torch.tensor([0, 1, 1, 1]), 2)
    np.testing.assert_array_equal(counts.numpy(), [[1, 1], [0, 1], [0, 1]])
    # Rows / (row total + 1): [1/3, 1/3], [0, 1/2], [0, 1/2]; columns then sum to 1.
    expected = [[1.0, (1 / 3) / (4 / 3)], [0.0, (1 / 2) / (4 / 3)], [0.0, (1 / 2) / (4 / 3)]]
    np.testing.assert_allclose(bayesian_matrix(counts, 1.0).numpy(), expected)


def test_blm_plus_plus_matrix_uses_top_k_probabilities():
    probabilities = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]], dtype=torch.float64)
    # ratio 0.5 of 3 outputs: k = ceil(1.5) = 2.
    counts = bayesian_counts(probabilities.log(), torch.tensor([0, 1]), 2, topk_ratio=0.5)
    np.testing.assert_allclose(counts.numpy(), [[0.5, 0.0], [0.3, 0.6], [0.0, 0.3]])
    rows = np.array([[0.5 / 1.5, 0.0], [0.3 / 1.9, 0.6 / 1.9], [0.0, 0.3 / 1.3]])
    np.testing.assert_allclose(bayesian_matrix(counts, 1.0).numpy(), rows / rows.sum(axis=0))


def test_blm_scores_are_log_mapped_probabilities():
    mapping = BayesianMapping(3, 2, smoothing=1.0)
    scores = torch.tensor([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0], [0.0, 0.0, 4.0], [1.0, 0.5, 3.0]])
    mapping.refresh(scores, torch.tensor([0, 1, 1, 0]))
    mapped = torch.softmax(scores, dim=1) @ mapping.omega
    torch.testing.assert_close(torch.softmax(mapping(scores), dim=1), mapped / mapped.sum(1, keepdim=True))
    assert mapping.matrix(3).shape == (2, 3)


def test_ilm_assignment_follows_the_program(small_xy):
    X, y = small_xy
    program = InputProgram(1024, 30)
    model = ReprogrammedModel(program, CrepeSource("tiny"), FrequencyMapping(3, 2, update_every=1))
    placed = program.place(torch.tensor(X, dtype=torch.float32))
    targets = torch.as_tensor(np.unique(y, return_inverse=True)[1])
    model.mapping.refresh(source_outputs(model, placed, 32), targets)
    before = model.mapping.assignment.clone()
    with torch.no_grad():
        program.delta.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    model.mapping.refresh(source_outputs(model, placed, 32), targets)
    assert not torch.equal(before, model.mapping.assignment)


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


# ---------------------------------------------------------------- black box
def test_zeroth_order_estimate_is_unbiased_on_a_quadratic():
    generator = torch.Generator().manual_seed(0)
    A = torch.randn(20, 20, generator=generator, dtype=torch.float64)
    A = A @ A.T / 20 + torch.eye(20, dtype=torch.float64)
    b = torch.randn(20, generator=generator, dtype=torch.float64)
    point = torch.randn(20, generator=generator)

    def quadratic(x):
        x = x.double()
        return 0.5 * x @ A @ x + b @ x

    true = A @ point.double() + b
    estimates = torch.stack([zo_gradient(quadratic, point, 10, 0.1, generator) for _ in range(1000)])
    mean = estimates.mean(0).double()
    cosine = torch.nn.functional.cosine_similarity(mean, true, dim=0)
    assert cosine > 0.97
    assert (mean - true).norm() / true.norm() < 0.25
    # One estimate alone is far noisier: the averaging is what recovers the gradient.
    assert torch.nn.functional.cosine_similarity(estimates[0].double(), true, dim=0) < cosine


def test_black_box_never_backpropagates_through_the_source_and_counts_queries(small_xy):
    X, y = small_xy
    clf = tiny_classifier(
        source=_grad_free_source(), training="black-box", zo_queries=3, max_epochs=2, batch_size=8
    ).fit(X, y)
    # Calibration (24) + 2 epochs x 24 series x (3 directions + 1).
    assert clf.n_queries_ == 24 + 2 * 24 * 4
    assert [h["queries"] for h in clf.history_] == [24 + 96, 24 + 192]
    assert np.any(clf.program_ != 0)
    assert clf.predict(X).shape == (24,)


@pytest.mark.parametrize("mapping", ["random", "flm", "blm++"])
def test_black_box_works_with_fixed_and_refreshed_mappings(small_xy, mapping):
    X, y = small_xy
    clf = tiny_classifier(
        source=_grad_free_source(), training="black-box", mapping=mapping, outputs_per_class=2,
        zo_queries=2, max_epochs=2, early_stopping=True,
    ).fit(X, y)
    assert np.any(clf.program_ != 0)
    assert clf.history_[0]["val_accuracy"] is not None


def test_query_budget_stops_training_cleanly(small_xy):
    X, y = small_xy
    params = {"source": _grad_free_source(), "training": "black-box", "zo_queries": 3, "max_epochs": 5}
    with pytest.warns(UserWarning, match="query_budget=300 reached"):
        clf = tiny_classifier(query_budget=300, **params).fit(X, y)
    assert clf.n_queries_ <= 300
    assert len(clf.history_) == 2 and clf.best_epoch_ == 2  # 24 + 2 x 96 = 216; a third epoch needs 312
    assert clf.predict(X).shape == (24,)
    with pytest.raises(ValueError, match="before the first epoch finished"):
        tiny_classifier(query_budget=100, **params).fit(X, y)
    with pytest.raises(ValueError, match="Calibrating the linear head"):
        tiny_classifier(query_budget=10, **params).fit(X, y)


def test_query_counter_refuses_calls_beyond_the_budget():
    counter = QueryCounter(budget=5)
    layer = nn.Linear(3, 2)
    with counter.attached(layer):
        layer(torch.zeros(4, 3))
        with pytest.raises(QueryBudgetExhausted):
            layer(torch.zeros(2, 3))
    layer(torch.zeros(9, 3))  # detached: no longer counted
    assert counter.count == 4


def test_black_box_learns_italy_power_demand(italy):
    (X, y), (X_test, y_test) = italy
    clf = V2SClassifier(training="black-box", learning_rate=0.001, max_epochs=5, random_state=0).fit(X, y)
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < 0.8 * losses[0]
    assert clf.score(X_test[:300], y_test[:300]) > 0.75  # chance: 0.5
    assert clf.n_queries_ == 67 + 5 * 67 * 11


# --------------------------------------------------------------- fine-tuning
def _changed(model_source):
    fresh = CrepeSource("tiny").state_dict()
    return {key: not torch.equal(value, fresh[key]) for key, value in model_source.state_dict().items()}


@pytest.mark.parametrize("finetune", ["none", "last", "all"])
def test_finetune_changes_exactly_the_chosen_source_weights(small_xy, finetune):
    X, y = small_xy
    clf = tiny_classifier(finetune=finetune, max_epochs=1).fit(X, y)
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


def test_source_last_layers_generic_fallback():
    net = nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 4), nn.Tanh())
    source = from_module(net, sample_rate=8000, input_length=64)
    assert source.last_layers() == [net[2]]
    assert CrepeSource("tiny").last_layers()[0] is not None


# ------------------------------------------------------- sample-specific mask
def test_sample_specific_mask_depends_on_input_and_spares_the_series(small_xy):
    X, _ = small_xy
    torch.manual_seed(0)
    program = InputProgram(1024, 30, segments=2, sample_specific_mask=True)
    with torch.no_grad():
        program.delta.normal_()
    placed = program.place(torch.tensor(X[:4], dtype=torch.float32))
    masks = program.sample_mask(placed)
    assert masks.shape == (4, 1024)
    assert not torch.allclose(masks[0], masks[1])
    series = program.mask == 0
    assert torch.all(masks[:, series] == 0) and torch.all(masks[:, ~series] > 0)
    waveforms = program(placed)
    assert torch.equal(waveforms[:, series], placed[:, series])


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


# ------------------------------------------------------------- persistence
VARIANTS = {
    "flm": {"mapping": "flm"},
    "ilm": {"mapping": "ilm", "outputs_per_class": 3},
    "blm": {"mapping": "blm"},
    "blm++": {"mapping": "blm++"},
    "black-box": {"training": "black-box", "zo_queries": 2},
    "finetune-last": {"finetune": "last"},
    "finetune-all": {"finetune": "all"},
    "smm": {"sample_specific_mask": True},
}


@pytest.mark.parametrize("params", list(VARIANTS.values()), ids=list(VARIANTS))
def test_save_load_and_pickle_round_trips_give_identical_probabilities(small_xy, tmp_path, params):
    X, y = small_xy
    clf = tiny_classifier(max_epochs=2, **params).fit(X, y)
    expected = clf.predict_proba(X)
    clf.save(tmp_path / "model.v2s")
    loaded = V2SClassifier.load(tmp_path / "model.v2s")
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    np.testing.assert_array_equal(loaded.mapping_, clf.mapping_)
    assert loaded.n_queries_ == clf.n_queries_
    # Twice through pickle: tuned source weights must survive being unpickled and pickled again.
    twice = pickle.loads(pickle.dumps(pickle.loads(pickle.dumps(clf))))
    np.testing.assert_array_equal(twice.predict_proba(X), expected)


def test_tuned_source_weights_are_in_the_model_file(small_xy, tmp_path):
    X, y = small_xy
    tiny_classifier(finetune="last", max_epochs=1).fit(X, y).save(tmp_path / "m.v2s")
    state = torch.load(tmp_path / "m.v2s", weights_only=True)["state"]
    assert {k for k in state if k.startswith("source.")} == {"source.classifier.weight", "source.classifier.bias"}


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "params, message",
    [
        ({"query_budget": 100}, "query_budget limits black-box training"),
        ({"training": "black-box", "finetune": "last"}, "cannot be combined with finetune"),
        ({"training": "black-box", "sample_specific_mask": True}, "cannot be combined with sample_specific_mask"),
        ({"training": "black-box", "program_dropout": 0.2}, "cannot be combined with program_dropout"),
        ({"mapping": "flm", "outputs_per_class": 200}, "cannot serve 3 classes with 200"),
        ({"source": "api"}, "reprogram it with training='black-box'"),
        ({"source": "identity", "finetune": "last"}, "has none to train"),
        ({"training": "grey-box"}, "training"),
    ],
)
def test_bad_variant_combinations_are_refused_clearly(small_xy, params, message):
    X, y = small_xy
    sources = {
        "api": _grad_free_source(input_length=1024),
        "identity": from_module(nn.Identity(), sample_rate=16000, input_length=64),
    }
    if params.get("source") in sources:
        params = {**params, "source": sources[params["source"]]}
    with pytest.raises(ValueError, match=message):
        tiny_classifier(max_epochs=1, **params).fit(X, y)


# ---------------------------------------------------------------------- CLI
def test_cli_passes_variant_options_to_the_estimator():
    args = _parser().parse_args([
        "bench", "--mapping", "blm++", "--blm-topk-ratio", "0.3", "--training", "black-box",
        "--zo-queries", "5", "--query-budget", "1000",
    ])
    params = _bench_params(args)
    assert params["mapping"] == "blm++" and params["blm_topk_ratio"] == 0.3
    assert params["training"] == "black-box" and params["zo_queries"] == 5 and params["query_budget"] == 1000
    args = _parser().parse_args(
        ["run", "GunPoint", "--mapping", "ilm", "--finetune", "last", "--sample-specific-mask"]
    )
    assert _run_params(args) == {"mapping": "ilm", "finetune": "last", "sample_specific_mask": True}
    V2SClassifier(**_run_params(args))  # every name is a parameter
