"""Black-box reprogramming (blackbox.py): the zeroth-order gradient estimate, query
counting and budgets, and black-box training through the estimator."""

import numpy as np
import pytest
import torch
from torch import nn

from voice2series import V2SClassifier
from voice2series.blackbox import QueryBudgetExhausted, QueryCounter, zo_gradient

from .helpers import grad_free_source, tiny_classifier


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """The machine is shared; every test here runs on one torch thread."""


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


def test_query_counter_refuses_calls_beyond_the_budget():
    counter = QueryCounter(budget=5)
    layer = nn.Linear(3, 2)
    with counter.attached(layer):
        layer(torch.zeros(4, 3))
        with pytest.raises(QueryBudgetExhausted):
            layer(torch.zeros(2, 3))
    layer(torch.zeros(9, 3))  # detached: no longer counted
    assert counter.count == 4


def test_black_box_never_backpropagates_through_the_source_and_counts_queries(small_xy):
    X, y = small_xy
    clf = tiny_classifier(
        source=grad_free_source(), training="black-box", zo_queries=3, max_epochs=2, batch_size=8
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
        source=grad_free_source(),
        training="black-box",
        mapping=mapping,
        outputs_per_class=2,
        zo_queries=2,
        max_epochs=2,
        early_stopping=True,
    ).fit(X, y)
    assert np.any(clf.program_ != 0)
    assert clf.history_[0]["val_accuracy"] is not None


def test_query_budget_stops_training_cleanly(small_xy):
    X, y = small_xy
    params = {"source": grad_free_source(), "training": "black-box", "zo_queries": 3, "max_epochs": 5}
    with pytest.warns(UserWarning, match="query_budget=300 reached"):
        clf = tiny_classifier(query_budget=300, **params).fit(X, y)
    assert clf.n_queries_ <= 300
    assert len(clf.history_) == 2 and clf.best_epoch_ == 2  # 24 + 2 x 96 = 216; a third epoch needs 312
    assert clf.predict(X).shape == (24,)
    with pytest.raises(ValueError, match="before the first epoch finished"):
        tiny_classifier(query_budget=100, **params).fit(X, y)
    with pytest.raises(ValueError, match="Calibrating the linear head"):
        tiny_classifier(query_budget=10, **params).fit(X, y)


@pytest.mark.slow
def test_black_box_learns_italy_power_demand(italy):
    (X, y), (X_test, y_test) = italy
    # A random head trained with the program, as measured (round 7's default keeps a logistic start fixed).
    clf = V2SClassifier(
        training="black-box", learning_rate=0.001, max_epochs=5, head_init="random", random_state=0
    ).fit(X, y)
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < 0.8 * losses[0]
    assert clf.score(X_test[:300], y_test[:300]) > 0.75  # chance: 0.5
    assert clf.n_queries_ == 67 + 5 * 67 * 11
