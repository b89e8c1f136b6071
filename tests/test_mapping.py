"""Label mappings (mapping.py): many-to-one, linear head, frequency (flm/ilm) and
Bayesian (blm/blm++) mappings, and their capacity errors."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from voice2series.mapping import (
    LOGISTIC_CS,
    BayesianMapping,
    FrequencyMapping,
    LinearMapping,
    ManyToOneMapping,
    bayesian_counts,
    bayesian_matrix,
    frequency_counts,
    greedy_assignment,
    make_mapping,
)
from voice2series.program import InputProgram
from voice2series.sources import CrepeSource
from voice2series.training import ReprogrammedModel, source_outputs

from .helpers import tiny_classifier


def _rng(seed=0):
    return np.random.default_rng(seed)


def test_random_mapping_uses_disjoint_outputs_floor_n_source_over_n_classes():
    mapping = make_mapping("random", 360, 7, _rng())
    assignment = mapping.assignment.numpy()
    assert assignment.shape == (7, 360 // 7)
    assert len(np.unique(assignment)) == assignment.size


def test_random_mapping_is_determined_by_the_generator():
    first = make_mapping("random", 360, 3, _rng(5)).assignment
    again = make_mapping("random", 360, 3, _rng(5)).assignment
    other = make_mapping("random", 360, 3, _rng(6)).assignment
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_sequential_mapping_is_the_official_codes_order():
    assignment = make_mapping("sequential", 10, 3, _rng()).assignment.numpy()
    np.testing.assert_array_equal(assignment, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])


def test_many_to_one_class_score_is_the_mean_of_its_source_logits():
    mapping = ManyToOneMapping([[0, 2], [1, 3]])
    scores = torch.tensor([[1.0, 10.0, 3.0, 30.0]])
    torch.testing.assert_close(mapping(scores), torch.tensor([[2.0, 20.0]]))
    np.testing.assert_array_equal(mapping.matrix(4), [[0.5, 0, 0.5, 0], [0, 0.5, 0, 0.5]])


def test_outputs_per_class_and_capacity_errors():
    assert make_mapping("random", 360, 2, _rng(), outputs_per_class=5).assignment.shape == (2, 5)
    with pytest.raises(ValueError, match="cannot serve 400 classes"):
        make_mapping("random", 360, 400, _rng())
    with pytest.raises(ValueError, match="mapping='linear'"):
        make_mapping("sequential", 360, 2, _rng(), outputs_per_class=200)


def test_linear_head_shape_trainable_and_seeded():
    head = make_mapping("linear", 360, 4, _rng(1))
    assert isinstance(head, LinearMapping)
    assert head(torch.randn(5, 360)).shape == (5, 4)
    assert head.weight.requires_grad
    torch.testing.assert_close(head.weight, make_mapping("linear", 360, 4, _rng(1)).weight)


def test_unknown_mapping_names_the_valid_ones():
    with pytest.raises(ValueError, match="random"):
        make_mapping("frequency", 360, 2, _rng())


def test_too_many_classes_for_the_mapping_points_to_linear():
    X = np.random.default_rng(0).normal(size=(8, 20))
    with pytest.raises(ValueError, match="mapping='linear'"):
        tiny_classifier(mapping="random", outputs_per_class=200).fit(X, [0, 1] * 4)


# ------------------------------------------------- mappings computed from data
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


def test_ilm_assignment_follows_the_program(small_xy, one_torch_thread):
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


def test_probability_reduction_averages_softmax_over_all_source_outputs():
    # 4 source outputs, class 0 <- outputs {0, 1}, class 1 <- output {2}; output 3 serves no class.
    scores = torch.tensor([[1.0, 2.0, 0.5, 3.0], [0.0, 0.0, 0.0, 0.0]])
    mapping = ManyToOneMapping([[0, 1], [2, 2]], reduction="probabilities")
    e = np.exp([1.0, 2.0, 0.5, 3.0])
    p = e / e.sum()  # softmax over ALL outputs, output 3 included
    q = np.array([(p[0] + p[1]) / 2, p[2]])
    mapped = mapping(scores)
    assert torch.allclose(mapped[0].double(), torch.log(torch.from_numpy(q)), atol=1e-6)
    assert torch.allclose(mapped[1], torch.log(torch.tensor([0.25, 0.25])))
    # Keras' categorical_crossentropy renormalises q: loss = -log(q_y / sum(q)).
    loss = torch.nn.functional.cross_entropy(mapped[:1], torch.tensor([1]))
    assert loss.item() == pytest.approx(-np.log(q[1] / q.sum()), rel=1e-6)


def test_logit_reduction_is_unchanged_by_default():
    scores = torch.tensor([[1.0, 2.0, 0.5, 3.0]])
    assert torch.allclose(ManyToOneMapping([[0, 1], [2, 3]])(scores), torch.tensor([[1.5, 1.75]]))


def test_reduction_reaches_sequential_and_frequency_mappings_and_is_refused_elsewhere():
    assert make_mapping("sequential", 37, 2, _rng(), 1, reduction="probabilities").reduction == "probabilities"
    assert make_mapping("flm", 37, 2, _rng(), reduction="probabilities").reduction == "probabilities"
    for kind in ("linear", "blm"):
        with pytest.raises(ValueError, match="many-to-one"):
            make_mapping(kind, 37, 2, _rng(), reduction="probabilities")
    with pytest.raises(ValueError, match="reduction"):
        make_mapping("random", 37, 2, _rng(), reduction="mean")


def _standardised_head(scores, n_classes):
    head = make_mapping("linear", scores.shape[1], n_classes, _rng())
    head.calibrate(scores)
    return head


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_start_gives_the_regressions_probabilities(n_classes):
    generator = torch.Generator().manual_seed(0)
    targets = torch.arange(n_classes).repeat(10)
    # Outputs far from zero on different scales, as CREPE's are: the head must
    # regress on what it reads after standardising.
    scores = 5.0 + 3.0 * torch.randn(len(targets), 6, generator=generator)
    scores[:, 0] += 2.0 * targets
    head = _standardised_head(scores, n_classes)
    head.fit_logistic(scores, targets, random_state=0)
    standardised = ((scores - head.shift) / head.scale).double().numpy()
    matches = [
        c for c in LOGISTIC_CS if np.allclose(_probabilities(head, scores), _fit(c, standardised, targets), atol=1e-4)
    ]
    assert len(matches) == 1, "the head should be one logistic regression on the outputs it reads"
    search = GridSearchCV(
        LogisticRegression(max_iter=2000),
        {"C": LOGISTIC_CS},
        scoring="neg_log_loss",
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
    ).fit(standardised, targets.numpy())
    assert head.cv_log_loss == pytest.approx(-search.best_score_)


def _fit(c, features, targets):
    return LogisticRegression(C=c, max_iter=2000).fit(features, targets.numpy()).predict_proba(features)


def _probabilities(head, scores):
    with torch.no_grad():
        return torch.softmax(head(scores), dim=1).double().numpy()


def test_logistic_start_never_predicts_a_class_absent_from_its_data():
    targets = torch.tensor([0, 1, 0, 1, 0, 1])
    scores = torch.randn(6, 4, generator=torch.Generator().manual_seed(1))
    head = _standardised_head(scores, 3)
    head.fit_logistic(scores, targets)
    with torch.no_grad():
        predicted = head(torch.randn(50, 4, generator=torch.Generator().manual_seed(2))).argmax(dim=1)
    assert set(predicted.tolist()) <= {0, 1}
    assert torch.all(head.weight[2] == 0)


def test_logistic_start_without_folds_has_no_cross_validated_loss():
    targets = torch.tensor([0, 1, 1, 1])  # class 0 has one series: nothing to cross-validate
    scores = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    head = _standardised_head(scores, 2)
    head.cv_log_loss = 0.5  # a stale value from an earlier fit must not survive
    head.fit_logistic(scores, targets)
    assert head.cv_log_loss is None
