"""Label mappings: from the source model's outputs to the target classes."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["ManyToOneMapping", "LinearMapping", "make_mapping", "MAPPINGS"]

MAPPINGS = ("random", "sequential", "linear")


class ManyToOneMapping(nn.Module):
    """Fixed many-to-one mapping: each class owns ``k`` disjoint source outputs.

    The class score is the mean of the **logits** (pre-activation scores) of
    its source outputs; a softmax over class scores then gives probabilities.
    Logits rather than probabilities are averaged because sources such as
    CREPE have independent sigmoid outputs, not a softmax.

    Parameters
    ----------
    assignment : array-like of int, shape (n_classes, k)
        Row ``c`` lists the source outputs that serve class ``c``.
    """

    def __init__(self, assignment):
        super().__init__()
        self.register_buffer("assignment", torch.as_tensor(np.asarray(assignment), dtype=torch.long))

    def forward(self, source_scores):
        return source_scores[:, self.assignment].mean(dim=-1)

    def matrix(self, n_source):
        """``(n_classes, n_source)`` array with ``1/k`` where an output serves a class."""
        n_classes, k = self.assignment.shape
        weights = np.zeros((n_classes, n_source))
        rows = np.repeat(np.arange(n_classes), k)
        weights[rows, self.assignment.cpu().numpy().ravel()] = 1.0 / k
        return weights


class LinearMapping(nn.Linear):
    """A learnable linear head on standardised source logits.

    Source logits can sit far from zero with a small spread (CREPE's are about
    -6 +- 1.5), which saturates a freshly initialised head and makes Adam's
    steps on it erratic. :meth:`calibrate` fixes a per-output shift and scale
    from the training data seen through the initial program, like a
    ``StandardScaler`` in front of the head.
    """

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features)
        self.register_buffer("shift", torch.zeros(in_features))
        self.register_buffer("scale", torch.ones(in_features))

    def calibrate(self, source_scores):
        """Standardise each source output with these scores' mean and std.

        Parameters
        ----------
        source_scores : torch.Tensor of shape (n_series, in_features)
            Source logits of the training series through the initial program.
        """
        self.shift.copy_(source_scores.mean(dim=0))
        # The floor keeps outputs that barely vary over the training data
        # (a short series moves few samples of the waveform) from being blown
        # up once the program starts to move them.
        floor = 0.1 * float(source_scores.std()) + 1e-6
        self.scale.copy_(source_scores.std(dim=0).clamp_min(floor))

    def forward(self, source_scores):
        return super().forward((source_scores - self.shift) / self.scale)

    def matrix(self, n_source):
        """The head's ``(n_classes, n_source)`` weight matrix."""
        return self.weight.detach().cpu().numpy().astype(np.float64)


def make_mapping(kind, n_source, n_classes, rng, outputs_per_class=None):
    """Build a label mapping.

    Parameters
    ----------
    kind : {"random", "sequential", "linear"}
        ``"random"``: the paper's mapping, ``outputs_per_class`` disjoint
        source outputs per class drawn at random. ``"sequential"``: the
        official code's mapping, outputs ``0..k-1`` to class 0, ``k..2k-1`` to
        class 1, and so on. ``"linear"``: a learnable linear head.
    n_source : int
        Number of source outputs.
    n_classes : int
        Number of target classes.
    rng : numpy.random.Generator
        Draws the random assignment and the linear head's initial weights.
    outputs_per_class : int, optional
        ``k`` for the many-to-one mappings; defaults to
        ``n_source // n_classes`` (every output used at most once).

    Returns
    -------
    torch.nn.Module
        Maps ``(batch, n_source)`` source logits to ``(batch, n_classes)``.
    """
    if kind not in MAPPINGS:
        raise ValueError(f"Unknown mapping {kind!r}; use one of {list(MAPPINGS)}.")
    if kind == "linear":
        head = LinearMapping(n_source, n_classes)
        bound = 1.0 / np.sqrt(n_source)
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, (n_classes, n_source))))
            head.bias.zero_()
        return head
    k = n_source // n_classes if outputs_per_class is None else int(outputs_per_class)
    if k < 1 or k * n_classes > n_source:
        raise ValueError(
            f"The {kind!r} mapping cannot serve {n_classes} classes with {k} output(s) "
            f"each from a source with {n_source} outputs. Use mapping='linear', fewer "
            "outputs_per_class, or a source with more outputs."
        )
    order = rng.permutation(n_source) if kind == "random" else np.arange(n_source)
    return ManyToOneMapping(order[: k * n_classes].reshape(n_classes, k))
