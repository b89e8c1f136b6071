"""The source interface, wrapping of arbitrary torch modules, shipped-file lookup."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "AcousticSource",
    "FunctionSource",
    "ModuleSource",
    "SplitBatch",
    "from_function",
    "from_module",
    "package_file",
]


@dataclass
class SplitBatch:
    """A batch of waveforms ``series + program`` handed to a source in two parts.

    Only for sources with ``additive_split`` (see :class:`AcousticSource`).
    Calling the source on it gives the same scores as calling it on the
    waveforms themselves. ``len()`` is the number of waveforms, so hooks that
    count the series sent to a source count it like a waveform batch.

    Parameters
    ----------
    series_part : tuple of torch.Tensor
        ``source.series_part(series)`` for the batch's series: each tensor's
        first dimension is the batch.
    program : torch.Tensor of shape (input_length,)
        The program, shared by every waveform of the batch and zero on every
        sample where any of their series is nonzero (the input program's mask
        guarantees it).
    """

    series_part: tuple
    program: torch.Tensor

    def __len__(self):
        return len(self.series_part[0])


class AcousticSource(nn.Module):
    """Base class of frozen acoustic models.

    Subclasses set ``name``, ``sample_rate``, ``input_length`` and
    ``n_outputs``, build their layers, load their weights and then call
    :meth:`freeze`. ``forward`` takes ``(batch, input_length)`` waveforms and
    returns ``(batch, n_outputs)`` scores (logits or embeddings).

    Attributes
    ----------
    name : str
        Registry name, or a descriptive name for custom sources.
    sample_rate : int
        Sample rate in Hz the model was trained at.
    input_length : int
        Number of samples of one input waveform.
    n_outputs : int
        Number of source outputs (source classes) the label mapping can use.
    differentiable : bool
        Whether gradients reach the input waveform. A source that is only a
        function (a remote API, see :func:`from_function`) is not, and can
        only be reprogrammed with ``training="black-box"``.
    additive_split : bool
        Whether the source implements :meth:`series_part` and accepts a
        :class:`SplitBatch` in ``forward``. A source whose first operation on
        the waveform is linear can: its response to ``series + program`` is
        its response to the series plus its response to the program. The
        series are fixed during a fit, so their part is computed once per fit
        and the program's once per step for the whole batch (and its gradient
        with one transposed first layer per step, not one per series). The
        training loop then skips the first layer of the source for every
        series (see :class:`voice2series.training.ReprogrammedModel`).
    readouts : tuple of str
        What the source can output (:meth:`with_readout`): ``"logits"`` (its
        output layer) for every source; a source that can also expose its
        inner layers (CREPE) adds ``"inner"`` and ``"both"``.
    output_groups : torch.Tensor of shape (n_outputs,) or None
        Optional: which outputs are on a comparable scale (the linear head
        standardises each group with its own floor). None: all of them.

    Notes
    -----
    A source with ``additive_split`` implements:

    ``series_part(series)``
        For ``(batch, input_length)`` waveforms holding only the placed
        series (zero where the program acts): a tuple of tensors, batch
        first, from which ``forward`` rebuilds its output for ``series +
        program`` given any program that is zero on the series. It may use
        only the parameters of :meth:`series_part_parameters`.
    ``forward(SplitBatch(series_part, program))``
        The scores of the waveforms ``series + program``, equal (to float
        rounding) to ``forward(series + program)``.
    ``series_part_parameters()``
        The parameters ``series_part`` uses: a stored series part is stale
        once they are trained (``finetune="all"``), so the model then runs
        the source whole.
    """

    name: str = "source"
    sample_rate: int
    input_length: int
    n_outputs: int
    differentiable: bool = True
    additive_split: bool = False
    readouts = ("logits",)
    output_groups = None

    def with_readout(self, readout):
        """This source with the given readout (optional capability).

        Sources with an inner readout override this; the base class only
        has its logits.

        Parameters
        ----------
        readout : {"logits", "inner", "both"}

        Returns
        -------
        AcousticSource
        """
        if readout == "logits":
            return self
        raise ValueError(
            f"The {self.name!r} source has no {readout!r} readout (only its outputs); use "
            "readout='logits', or a source that exposes its inner layers (crepe-tiny, crepe-full)."
        )

    def freeze(self):
        """Stop gradients to the parameters and switch to evaluation mode."""
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        return self.eval()

    def train(self, mode=True):
        # A frozen source keeps its batch-norm statistics and disables its own
        # dropout even while the program around it trains.
        return super().train(False)

    def last_layers(self):
        """The modules that ``finetune="last"`` unfreezes.

        Generic fallback: the last module (in registration order) that holds
        parameters of its own. Sources override it when their output layer is
        known (CREPE: its ``classifier``).

        Returns
        -------
        list of torch.nn.Module
        """
        holders = [m for m in self.modules() if any(True for _ in m.parameters(recurse=False))]
        if not holders:
            raise ValueError(f"The {self.name!r} source has no parameters to fine-tune; use finetune='none'.")
        return holders[-1:]

    def unfreeze(self, scope):
        """Make the parameters that fine-tuning trains trainable, in place.

        Parameters
        ----------
        scope : {"none", "last", "all"}
            ``"last"``: the modules of :meth:`last_layers`; ``"all"``: every
            parameter; ``"none"``: nothing.

        Returns
        -------
        AcousticSource
            ``self``.
        """
        if scope == "none":
            return self
        if not self.differentiable or not any(True for _ in self.parameters()):
            raise ValueError(
                f"finetune={scope!r} needs a torch module source with parameters; the "
                f"{self.name!r} source has none to train. Use finetune='none'."
            )
        for module in self.last_layers() if scope == "last" else [self]:
            for parameter in module.parameters():
                parameter.requires_grad_(True)
        return self

    def series_part(self, series):
        """The program-independent part of the source's computation on ``series``.

        Only for sources with ``additive_split``; see the class notes.

        Parameters
        ----------
        series : torch.Tensor of shape (batch, input_length)
            Placed series: zero wherever the program acts.

        Returns
        -------
        tuple of torch.Tensor
            Each with the batch as first dimension.
        """
        raise NotImplementedError(f"The {self.name!r} source does not split its input (additive_split=False).")

    def series_part_parameters(self):
        """The parameters :meth:`series_part` depends on (all of them by default)."""
        return list(self.parameters())

    def spec(self):
        """Arguments that rebuild this source from the registry, or None.

        A source with a spec is not pickled with its weights: it is rebuilt
        from the installed package on unpickling.
        """
        return None


def package_file(package, relative_path, install_hint):
    """Path of a file shipped inside an installed package, without importing it.

    Parameters
    ----------
    package : str
        Top-level package name, e.g. ``"openwakeword"``.
    relative_path : str
        Path of the file inside the package directory.
    install_hint : str
        The pip command that installs a version shipping the file.

    Returns
    -------
    pathlib.Path
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"This source needs the weights shipped in the {package!r} package: {install_hint}")
    path = Path(spec.submodule_search_locations[0]) / relative_path
    if not path.is_file():
        raise FileNotFoundError(f"{package} is installed but {path} is missing (another version?); {install_hint}")
    return path


class ModuleSource(AcousticSource):
    """Any frozen torch module from waveforms to scores; see :func:`from_module`."""

    def __init__(self, module, sample_rate, input_length, n_outputs, name):
        super().__init__()
        self.module = module
        self.sample_rate = sample_rate
        self.input_length = input_length
        self.n_outputs = n_outputs
        self.name = name
        self.freeze()

    def forward(self, waveform):
        return self.module(waveform)


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}.")
    return value


def _probe(module, input_length):
    """Run two random waveforms through ``module``; return (output, input gradient)."""
    waveform = torch.randn(2, input_length, generator=torch.Generator().manual_seed(0))
    waveform.requires_grad_(True)
    try:
        with torch.enable_grad():
            output = module(waveform)
    except Exception as error:
        raise ValueError(
            f"The module failed on a (2, {input_length}) float32 waveform batch: {error!r}. "
            "A source must accept (batch, input_length) waveforms."
        ) from error
    if not isinstance(output, torch.Tensor) or output.ndim != 2 or output.shape[0] != 2:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(
            f"The module must map (batch, {input_length}) waveforms to (batch, n_outputs) "
            f"scores; it returned {shape} for a batch of 2. Wrap it to flatten or pool its output."
        )
    if not output.requires_grad:
        return output, None
    (gradient,) = torch.autograd.grad(output.sum(), waveform, allow_unused=True)
    return output, gradient


def from_module(module, sample_rate, input_length, name=None):
    """Use any torch module from waveforms to scores as a frozen source.

    The module is frozen (no parameter receives gradients) and kept in
    evaluation mode. It is checked once on a random batch: it must return
    ``(batch, n_outputs)`` and the gradient must reach the input waveform,
    since that gradient is what trains the input program.

    Parameters
    ----------
    module : torch.nn.Module
        Maps ``(batch, input_length)`` float32 waveforms to ``(batch, n_outputs)``.
    sample_rate : int
        Sample rate in Hz the module expects (informative; nothing is resampled).
    input_length : int
        Samples per input waveform.
    name : str, optional
        A descriptive name; defaults to the module's class name.

    Returns
    -------
    ModuleSource
        An :class:`AcousticSource` that ``V2SClassifier(source=...)`` accepts.
        It pickles together with the module's weights.

    Examples
    --------
    >>> import torch
    >>> from voice2series.sources import from_module
    >>> net = torch.nn.Sequential(torch.nn.Linear(400, 16), torch.nn.Tanh())
    >>> source = from_module(net, sample_rate=8000, input_length=400)
    >>> source.n_outputs, any(p.requires_grad for p in source.parameters())
    (16, False)
    """
    if not isinstance(module, nn.Module):
        raise ValueError(
            f"from_module needs a torch.nn.Module, got {type(module).__name__}; "
            "wrap a function in an nn.Module whose forward calls it."
        )
    sample_rate = _positive_int(sample_rate, "sample_rate")
    input_length = _positive_int(input_length, "input_length")
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    output, gradient = _probe(module, input_length)
    if gradient is None or not torch.isfinite(gradient).all() or not gradient.abs().sum() > 0:
        raise ValueError(
            "Gradients do not reach the input waveform through this module (none, zero or "
            "not finite), so the input program could not learn. Remove torch.no_grad(), "
            ".detach(), .numpy() or integer casts from its forward pass."
        )
    return ModuleSource(module, sample_rate, input_length, int(output.shape[1]), name or type(module).__name__)


class FunctionSource(AcousticSource):
    """A source known only through calls: see :func:`from_function`."""

    differentiable = False

    def __init__(self, function, sample_rate, input_length, n_outputs, name):
        super().__init__()
        self.function = function
        self.sample_rate = sample_rate
        self.input_length = input_length
        self.n_outputs = n_outputs
        self.name = name

    def forward(self, waveform):
        scores = self.function(waveform.detach())
        if not isinstance(scores, torch.Tensor):
            scores = torch.from_numpy(np.asarray(scores, dtype=np.float32))
        return scores.to(device=waveform.device, dtype=torch.float32)


def from_function(function, sample_rate, input_length, name=None):
    """Use any function from waveforms to scores (e.g. a remote API) as a source.

    The function is treated as a black box: only its outputs are used, so it
    needs ``V2SClassifier(training="black-box")``, which learns the program
    from output differences alone (zeroth-order optimisation, Tsai, Chen & Ho,
    ICML 2020). It is checked once on a random batch of two waveforms.

    Parameters
    ----------
    function : callable
        Maps a ``(batch, input_length)`` float32 tensor to ``(batch, n_outputs)``
        scores (a tensor or anything numpy can turn into an array), e.g.
        class logits or log-probabilities.
    sample_rate : int
    input_length : int
    name : str, optional

    Returns
    -------
    FunctionSource

    Examples
    --------
    >>> import numpy as np
    >>> from voice2series.sources import from_function
    >>> api = lambda waveform: np.stack([waveform.numpy().mean(1), waveform.numpy().std(1)], axis=1)
    >>> source = from_function(api, sample_rate=8000, input_length=256)
    >>> source.n_outputs, source.differentiable
    (2, False)
    """
    if not callable(function):
        raise TypeError(f"from_function needs a callable, got {type(function).__name__}.")
    sample_rate = _positive_int(sample_rate, "sample_rate")
    input_length = _positive_int(input_length, "input_length")
    source = FunctionSource(function, sample_rate, input_length, 1, name or getattr(function, "__name__", "function"))
    waveform = torch.randn(2, input_length, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            output = source(waveform)
    except Exception as error:
        raise ValueError(f"The function failed on a (2, {input_length}) float32 waveform batch: {error!r}.") from error
    if output.ndim != 2 or output.shape[0] != 2:
        raise ValueError(
            f"The function must map (batch, {input_length}) waveforms to (batch, n_outputs) "
            f"scores; it returned shape {tuple(output.shape)} for a batch of 2."
        )
    source.n_outputs = int(output.shape[1])
    return source.freeze()
