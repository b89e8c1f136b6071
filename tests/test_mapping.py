import numpy as np
import pytest
import torch

from voice2series.mapping import LinearMapping, ManyToOneMapping, make_mapping


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
