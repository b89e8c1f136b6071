"""Black-box reprogramming: learning the program from source outputs alone.

BAR (Tsai, Chen & Ho, ICML 2020) reprograms a model that can only be queried:
no gradients come back from it. The program's gradient is estimated from loss
differences along ``q`` random directions ``U_j`` uniform on the unit sphere
(a zeroth-order, randomised gradient-free estimate)::

    g = (b / q) * sum_j [f(delta + beta * U_j) - f(delta)] / beta * U_j

with ``b`` the dimension of ``delta``. Its expectation is the gradient of a
smoothed ``f`` (exactly ``f``'s gradient for a quadratic). Here ``f`` is the
mini-batch cross-entropy computed from the source's outputs through the label
mapping. A learnable head (``mapping="linear"``) is ours, so its gradient is
exact; only the program needs the estimate.

Every call of the source is counted (one query = one series sent to it) by
:class:`QueryCounter`, which also enforces a query budget.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "QueryBudgetExhausted",
    "QueryCounter",
    "random_directions",
    "zo_estimate",
    "zo_gradient",
    "zo_train_one_epoch",
]


class QueryBudgetExhausted(RuntimeError):
    """Raised by :class:`QueryCounter` before a call that would exceed the budget."""


class QueryCounter:
    """Counts the series sent to a source; refuses calls beyond a budget.

    Attach it with :meth:`attached` (a forward pre-hook on the source module,
    removed on exit), so every call is counted wherever it comes from:
    calibration, mapping refreshes, zeroth-order steps, validation.

    Parameters
    ----------
    budget : int, optional
        Most series that may be sent; ``None`` for no limit.

    Attributes
    ----------
    count : int
        Series sent so far.
    """

    def __init__(self, budget=None):
        self.budget = budget
        self.count = 0

    def __call__(self, module, args):
        n_series = len(args[0])
        if self.budget is not None and self.count + n_series > self.budget:
            raise QueryBudgetExhausted(
                f"query_budget={self.budget} reached ({self.count} queries used; the next call needs {n_series})."
            )
        self.count += n_series

    def attached(self, source):
        """Context manager counting ``source``'s calls while it is open."""
        return _Attached(self, source)


class _Attached:
    def __init__(self, counter, source):
        self.counter, self.source, self.handle = counter, source, None

    def __enter__(self):
        self.handle = self.source.register_forward_pre_hook(self.counter)
        return self.counter

    def __exit__(self, *exc):
        self.handle.remove()
        return False


def random_directions(n_directions, dimension, generator, device=None):
    """``n_directions`` vectors uniform on the unit sphere of ``R^dimension``.

    Drawn on the CPU from ``generator`` (so results do not depend on the
    device), then moved to ``device``.
    """
    directions = torch.randn(n_directions, dimension, generator=generator, dtype=torch.float64)
    directions /= directions.norm(dim=1, keepdim=True)
    return directions.to(device=device, dtype=torch.float32)


def zo_estimate(base_loss, perturbed_losses, directions, smoothing):
    """The randomised gradient-free estimate from precomputed losses.

    Parameters
    ----------
    base_loss : float or torch.Tensor
        ``f(delta)``.
    perturbed_losses : torch.Tensor of shape (q,)
        ``f(delta + smoothing * directions[j])``.
    directions : torch.Tensor of shape (q, b)
        Unit vectors.
    smoothing : float
        ``beta``.

    Returns
    -------
    torch.Tensor of shape (b,)
    """
    n_directions, dimension = directions.shape
    differences = (perturbed_losses - base_loss) / smoothing
    return (dimension / n_directions) * (differences[:, None] * directions).sum(dim=0)


def zo_gradient(function, point, n_directions, smoothing, generator):
    """Zeroth-order estimate of ``function``'s gradient at ``point``.

    Parameters
    ----------
    function : callable
        Maps a 1-D tensor to a scalar; only called, never differentiated.
    point : torch.Tensor of shape (b,)
    n_directions : int
        ``q``: queries besides the one at ``point``.
    smoothing : float
        ``beta``.
    generator : torch.Generator

    Returns
    -------
    torch.Tensor of shape (b,)
    """
    directions = random_directions(n_directions, point.numel(), generator, point.device)
    with torch.no_grad():
        base = function(point)
        perturbed = torch.stack([function(point + smoothing * u) for u in directions])
    return zo_estimate(base, perturbed, directions, smoothing)


def zo_train_one_epoch(
    model, optimizer, placed, targets, batch_size, generator, n_directions, smoothing, label_smoothing=0.0
):
    """One epoch of black-box training; returns (mean loss, accuracy).

    Each mini-batch costs ``(n_directions + 1) * batch`` queries: the program
    as it is and ``n_directions`` perturbations of it, sent in one call.
    """
    model.train()
    order = torch.randperm(len(targets), generator=generator).to(targets.device)
    total_loss, correct = 0.0, 0
    for batch in torch.split(order, batch_size):
        loss, logits = _zo_step(
            model, optimizer, placed[batch], targets[batch], generator, n_directions, smoothing, label_smoothing
        )
        total_loss += loss * len(batch)
        correct += (logits.argmax(dim=1) == targets[batch]).sum().item()
    return total_loss / len(targets), correct / len(targets)


def _zo_step(model, optimizer, placed, targets, generator, n_directions, smoothing, label_smoothing):
    program = model.program
    active = program.mask.bool()  # delta has no effect where the series sits
    directions = random_directions(n_directions, int(active.sum()), generator, placed.device)
    with torch.no_grad():
        waveforms = program(placed)
        steps = torch.zeros(n_directions, program.input_length, device=placed.device)
        steps[:, active] = smoothing * directions
        perturbed = (waveforms[None] + steps[:, None, :]).reshape(-1, program.input_length)
        scores = model.source(torch.cat([waveforms, perturbed]))
    base_scores, perturbed_scores = scores[: len(placed)], scores[len(placed) :]
    # The mapping is ours: a learnable head gets its exact gradient.
    logits = model.mapping(base_scores)
    loss = F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
    with torch.no_grad():
        perturbed_logits = model.mapping(perturbed_scores).reshape(n_directions, len(placed), -1)
        perturbed_losses = torch.stack(
            [F.cross_entropy(z, targets, label_smoothing=label_smoothing) for z in perturbed_logits]
        )
    optimizer.zero_grad(set_to_none=True)
    if loss.requires_grad:
        loss.backward()
    gradient = torch.zeros_like(program.delta)
    gradient[active] = zo_estimate(loss.detach(), perturbed_losses, directions, smoothing)
    program.delta.grad = gradient
    optimizer.step()
    return loss.item(), logits.detach()
