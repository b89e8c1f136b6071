"""Frozen stride-1 1-D convolution with a faster input gradient.

With frozen weights, the backward pass of a convolution only needs the
gradient with respect to its input. Autograd computes it with a transposed
convolution, which on a CPU is several times slower than a forward
convolution doing the same multiply-adds (measured on CREPE-tiny's second
layer, batch of 32: 93 ms against 12.6 ms). For stride 1 and no dilation the
input gradient of a valid correlation is the full correlation of the output
gradient with the kernel flipped in time and with input and output channels
swapped, so :func:`frozen_conv1d` computes it as a forward convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

__all__ = ["frozen_conv1d", "padded_conv1d"]

#: Switch for comparisons (benchmarks/performance.py): ``False`` makes
#: :func:`padded_conv1d` always take autograd's path.
enabled = True


class _FrozenConv1d(torch.autograd.Function):
    """``conv1d(pad(x, padding), weight, bias)`` with a gradient for ``x`` only."""

    @staticmethod
    def forward(ctx, x, weight, bias, padding):
        ctx.save_for_backward(weight)
        ctx.padding = padding
        return F.conv1d(F.pad(x, padding), weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (weight,) = ctx.saved_tensors
        left, right = ctx.padding
        last = weight.shape[-1] - 1
        # Input gradient of the padded input: the full correlation (padding
        # k - 1 on both sides) with the transposed, flipped kernel. The
        # zeros that F.pad added get no gradient, so their columns are
        # skipped by padding the output gradient by k - 1 - left and
        # k - 1 - right instead.
        flipped = weight.transpose(0, 1).flip(-1)
        grad_input = F.conv1d(F.pad(grad_output, (last - left, last - right)), flipped)
        return grad_input, None, None, None


def frozen_conv1d(x, conv, padding):
    """``conv(F.pad(x, padding))`` for a frozen stride-1 ``nn.Conv1d``, with a fast input gradient.

    Bit-identical to ``conv(F.pad(x, padding))`` in the forward pass. The
    backward pass gives ``x`` its gradient through one forward convolution
    with the transposed, flipped kernel and gives the weight and bias none, so
    use it only when neither requires a gradient (:func:`padded_conv1d`
    decides).

    Parameters
    ----------
    x : torch.Tensor of shape (batch, in_channels, time)
    conv : torch.nn.Conv1d
        Stride 1, dilation 1, one group, ``padding=0``, ``padding_mode="zeros"``.
    padding : tuple of int
        ``(left, right)`` zeros added in time before the convolution, each
        at most ``kernel_size - 1``.
    """
    return _FrozenConv1d.apply(x, conv.weight, conv.bias, tuple(padding))


def padded_conv1d(x, conv, padding):
    """``conv(F.pad(x, padding))``, through :func:`frozen_conv1d` when that is exact.

    The custom backward applies when the convolution is stride-1, undilated,
    ungrouped and unpadded, ``padding`` fits in the kernel, neither its weight
    nor its bias requires a gradient (a fine-tuned convolution keeps
    autograd's path, which gives their gradients), and a gradient is being
    recorded for ``x``. Otherwise (or with the module's ``enabled`` set to
    False) autograd's path runs.
    """
    if (
        enabled
        and torch.is_grad_enabled()
        and x.requires_grad
        and not conv.weight.requires_grad
        and (conv.bias is None or not conv.bias.requires_grad)
        and conv.stride == (1,)
        and conv.dilation == (1,)
        and conv.groups == 1
        and conv.padding == (0,)
        and max(padding) < conv.kernel_size[0]
        and min(padding) >= 0
    ):
        return frozen_conv1d(x, conv, padding)
    return conv(F.pad(x, padding))
