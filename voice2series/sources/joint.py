"""Several frozen sources side by side: one model, one head over their outputs.

A :class:`JointSource` reads a waveform that is its members' input waveforms
one after the other (each member's part holds the series as that member
places it, with that member's own program around it: see
:class:`voice2series.program.JointProgram`) and returns the members' outputs
concatenated, so a single label mapping reads all of them. It is what
``V2SClassifier(source="crepe-tiny+crepe-full")`` builds; soft voting over
separately fitted models (:func:`voice2series.presets.make_ensemble`) is the
looser alternative, with one head per source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .base import AcousticSource

__all__ = ["JOINER", "JointSource", "MemberBatch", "member_names"]

#: Joins the member names of a joint source: ``"crepe-tiny+crepe-full"``.
JOINER = "+"


def member_names(name):
    """The member names of a joint source name, or None for a single source's name.

    Parameters
    ----------
    name : str

    Returns
    -------
    list of str or None
    """
    if not isinstance(name, str) or JOINER not in name:
        return None
    names = [part.strip() for part in name.split(JOINER)]
    if len(names) < 2 or not all(names) or len(set(names)) < len(names):
        raise ValueError(
            f"A joint source names two or more different sources joined by {JOINER!r}, e.g. "
            f"'crepe-tiny{JOINER}crepe-full'; got {name!r}."
        )
    return names


@dataclass
class MemberBatch:
    """A batch for a :class:`JointSource` with each member's waveforms apart.

    Parameters
    ----------
    waveforms : list of torch.Tensor or None
        Per member, its ``(batch, member input_length)`` waveforms; None for
        a member in ``known``.
    known : dict of int to torch.Tensor, optional
        Outputs already computed, by member index (``(batch, member
        n_outputs)``): those members are not run.
    """

    waveforms: list
    known: dict = field(default_factory=dict)

    def __len__(self):
        # The number of waveforms, so hooks that count the series sent to a
        # source count this batch as they count a waveform batch.
        return len(next(t for t in [*self.waveforms, *self.known.values()] if t is not None))


class JointSource(AcousticSource):
    """Members' outputs, concatenated, for waveforms that are their inputs end to end.

    Parameters
    ----------
    members : list of AcousticSource
        Two or more sources at one sample rate.

    Attributes
    ----------
    input_lengths : list of int
        Samples of each member's part of the waveform, in order.
    readout : str
        The members' readouts joined by ``"+"``.
    """

    def __init__(self, members):
        super().__init__()
        rates = {member.sample_rate for member in members}
        if len(members) < 2 or len(rates) > 1:
            raise ValueError(
                f"A joint source needs two or more sources at one sample rate; got {len(members)} "
                f"at {sorted(rates)} Hz."
            )
        self.members = nn.ModuleList(members)
        self.name = JOINER.join(member.name for member in members)
        self.sample_rate = rates.pop()
        self.input_lengths = [member.input_length for member in members]
        self.input_length = sum(self.input_lengths)
        self.n_outputs = sum(member.n_outputs for member in members)
        self.differentiable = all(member.differentiable for member in members)
        self.readout = JOINER.join(getattr(member, "readout", "logits") for member in members)
        self.output_groups = self._output_groups(members)

    @staticmethod
    def _output_groups(members):
        """Each member's output groups, numbered apart so no two members share a group."""
        groups, first = [], 0
        for member in members:
            own = member.output_groups
            own = torch.zeros(member.n_outputs, dtype=torch.long) if own is None else own
            groups.append(own + first)
            first += int(own.max()) + 1
        return torch.cat(groups)

    def forward(self, waveform):
        """Members' outputs side by side.

        Parameters
        ----------
        waveform : torch.Tensor of shape (batch, input_length) or MemberBatch
            The members' waveforms end to end, or apart (some members'
            outputs possibly known).
        """
        if not isinstance(waveform, MemberBatch):
            waveform = MemberBatch(list(torch.split(waveform, self.input_lengths, dim=-1)))
        outputs = [
            waveform.known[index] if index in waveform.known else member(part)
            for index, (member, part) in enumerate(zip(self.members, waveform.waveforms))
        ]
        return torch.cat(outputs, dim=1)

    def last_layers(self):
        """Every member's last layers."""
        return [layer for member in self.members for layer in member.last_layers()]

    def spec(self):
        """The members' specs under the joint name; None when one of them has none."""
        specs = [member.spec() for member in self.members]
        if not all(specs):
            return None
        return {"name": self.name, "members": specs}
