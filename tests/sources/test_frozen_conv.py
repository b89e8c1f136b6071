"""The frozen stride-1 convolution's custom backward against autograd's.

Forward passes must be bit-identical. Input gradients may differ by rounding
only (the same multiply-adds in another order): within 1e-5 of the largest
magnitude of autograd's gradient in float32 and 1e-10 in float64.
"""

import copy

import pytest
import torch
import torch.nn.functional as F

from voice2series.sources import CrepeSource
from voice2series.sources.frozen_conv import frozen_conv1d, padded_conv1d

from ..helpers import tiny_classifier

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def assert_close(actual, expected):
    tolerance = TOLERANCE[expected.dtype]
    scale = expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=tolerance, atol=tolerance * scale)


def autograd_and_frozen(conv, x, padding, seed=0):
    """Outputs and input gradients of ``conv(F.pad(x, padding))`` both ways, for one random output gradient."""
    x = x.detach().requires_grad_(True)
    expected = conv(F.pad(x, padding))
    actual = frozen_conv1d(x, conv, padding)
    gradient = torch.randn(expected.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    (expected_grad,) = torch.autograd.grad(expected, x, gradient)
    (actual_grad,) = torch.autograd.grad(actual, x, gradient)
    return (actual, actual_grad), (expected, expected_grad)


@pytest.fixture(scope="module")
def tiny():
    return CrepeSource("tiny")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layer", [1, 2, 3, 4, 5])
def test_crepe_tiny_layers_match_autograd(tiny, layer, dtype):
    conv = copy.deepcopy(tiny.convs[layer]).to(dtype)
    # The time steps each layer sees on a 1024-sample frame: 128, 64, ..., 8.
    x = torch.randn(3, conv.in_channels, 256 >> layer, dtype=dtype, generator=torch.Generator().manual_seed(layer))
    (actual, actual_grad), (expected, expected_grad) = autograd_and_frozen(conv, x, (31, 32))
    assert torch.equal(actual, expected)
    assert_close(actual_grad, expected_grad)


@pytest.mark.parametrize("padding", [(0, 0), (63, 0), (0, 63), (5, 17), (63, 63)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_any_padding_within_the_kernel_matches_autograd(tiny, padding, dtype):
    conv = copy.deepcopy(tiny.convs[2]).to(dtype)
    x = torch.randn(2, conv.in_channels, 80, dtype=dtype, generator=torch.Generator().manual_seed(7))
    (actual, actual_grad), (expected, expected_grad) = autograd_and_frozen(conv, x, padding)
    assert torch.equal(actual, expected)
    assert_close(actual_grad, expected_grad)


def test_conv_without_bias_and_short_kernel_matches_autograd():
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(3, 5, 4, bias=False).double().requires_grad_(False)
    (actual, actual_grad), (expected, expected_grad) = autograd_and_frozen(conv, torch.randn(2, 3, 9).double(), (1, 2))
    assert torch.equal(actual, expected)
    assert_close(actual_grad, expected_grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_whole_crepe_tiny_input_gradient_matches_autograd(tiny, dtype):
    """The source's gradient with respect to the waveform, frozen (custom backward) against
    the same weights requiring gradients (autograd's path everywhere)."""
    frozen = copy.deepcopy(tiny).to(dtype)
    trainable = copy.deepcopy(frozen).requires_grad_(True)
    waveform = torch.randn(3, 1024, dtype=dtype, generator=torch.Generator().manual_seed(3))
    outputs, gradients = [], []
    for source in (frozen, trainable):
        x = waveform.clone().requires_grad_(True)
        out = source(x)
        outputs.append(out)
        gradients.append(torch.autograd.grad((out * torch.linspace(-1, 1, 360, dtype=dtype)).sum(), x)[0])
    assert torch.equal(outputs[0], outputs[1])
    assert_close(gradients[0], gradients[1])


def test_crepe_full_first_layers_match_autograd():
    """CREPE-full's second and third convolutions (1024 → 128 → 128 channels), in float32 and float64."""
    full = CrepeSource("full")
    for layer, length in ((1, 128), (2, 64)):
        for dtype in (torch.float32, torch.float64):
            conv = copy.deepcopy(full.convs[layer]).to(dtype)
            x = torch.randn(1, conv.in_channels, length, dtype=dtype, generator=torch.Generator().manual_seed(layer))
            (actual, actual_grad), (expected, expected_grad) = autograd_and_frozen(conv, x, (31, 32))
            assert torch.equal(actual, expected)
            assert_close(actual_grad, expected_grad)


def test_padded_conv1d_keeps_autograd_for_trainable_weights(tiny):
    """Fine-tuning (weights requiring gradients) takes autograd's path: weight and bias get gradients."""
    conv = copy.deepcopy(tiny.convs[3]).requires_grad_(True)
    x = torch.randn(2, conv.in_channels, 32, requires_grad=True)
    out = padded_conv1d(x, conv, (31, 32))
    assert out.grad_fn.name() != "_FrozenConv1dBackward"
    out.square().sum().backward()
    assert conv.weight.grad is not None and conv.bias.grad is not None
    # Frozen, the custom backward runs and leaves the weights alone.
    conv.requires_grad_(False)
    assert padded_conv1d(x, conv, (31, 32)).grad_fn.name() == "_FrozenConv1dBackward"
    with torch.no_grad():
        assert padded_conv1d(x, conv, (31, 32)).grad_fn is None


def test_finetune_all_still_trains_the_stride_1_convolutions(small_xy):
    fresh = CrepeSource("tiny")
    clf = tiny_classifier(finetune="all", max_epochs=1, views="series").fit(*small_xy)
    for layer in range(1, 6):
        assert not torch.equal(clf.model_.source.convs[layer].weight, fresh.convs[layer].weight)
        assert not torch.equal(clf.model_.source.convs[layer].bias, fresh.convs[layer].bias)
