"""Training options of the paper's configuration: inverse-time decay and the L2 term on the program."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from voice2series.training import _make_scheduler, _train_one_epoch, build_model, program_penalty

from .conftest import tiny_classifier


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """The machine is shared; every test here runs on one torch thread."""


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
