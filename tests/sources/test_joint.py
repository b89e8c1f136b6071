"""Several sources in one model (sources/joint.py, program.JointProgram): each source reads
its own part of the waveform with its own program, one head reads their outputs side by side."""

import pickle

import numpy as np
import pytest
import torch
from torch import nn

from voice2series import V2SClassifier
from voice2series.program import InputProgram, JointProgram
from voice2series.sources import JointSource, from_module, get_source, member_names

from ..helpers import tiny_classifier

JOINT = "crepe-tiny+crepe-full"


def toy_sources():
    torch.manual_seed(0)
    return (
        from_module(nn.Linear(16, 3), sample_rate=8000, input_length=16, name="a"),
        from_module(nn.Linear(24, 5), sample_rate=8000, input_length=24, name="b"),
    )


def test_each_member_reads_its_own_part_and_the_outputs_sit_side_by_side():
    first, second = toy_sources()
    joint = JointSource([first, second])
    waveform = torch.randn(4, 40)
    expected = torch.cat([first(waveform[:, :16]), second(waveform[:, 16:])], dim=1)
    torch.testing.assert_close(joint(waveform), expected)
    assert (joint.input_length, joint.n_outputs, joint.name) == (40, 8, "a+b")


def test_output_groups_stay_apart_across_members():
    crepe = get_source("crepe-tiny").with_readout("both")
    plain = from_module(nn.Linear(16, 3), sample_rate=16000, input_length=16, name="plain")
    groups = JointSource([crepe, plain]).output_groups
    n = crepe.n_outputs
    assert torch.equal(groups[:n], crepe.output_groups)
    # The plain source's outputs form one group of their own, after CREPE's.
    assert groups[n:].tolist() == [int(crepe.output_groups.max()) + 1] * 3


def test_each_program_acts_on_its_members_part_only():
    programs = [InputProgram(16, 4), InputProgram(24, 4, placement="centre")]
    joint = JointProgram(programs)
    X = np.arange(8.0).reshape(2, 1, 4)
    placed = joint.place_series(X)
    torch.testing.assert_close(placed, torch.cat([p.place_series(X) for p in programs], dim=1))
    with torch.no_grad():
        programs[0].delta.fill_(1.0)
    moved = joint(placed) - placed
    assert torch.equal(moved[:, :16], programs[0].mask.expand(2, -1)) and not moved[:, 16:].any()
    assert torch.equal(joint.mask, torch.cat([p.mask for p in programs]))
    with pytest.raises(ValueError, match="one per source of a joint source"):
        joint.unplace(np.zeros((2, 40)))


@pytest.mark.parametrize(
    "name, message",
    [
        ("crepe-tiny+crepe-tiny", "two or more different sources"),
        ("crepe-tiny+", "two or more different sources"),
    ],
)
def test_a_bad_joint_name_is_refused_clearly(name, message):
    with pytest.raises(ValueError, match=message):
        member_names(name)


def test_a_joint_source_rebuilds_from_its_spec():
    joint = get_source(JOINT)
    spec = joint.spec()
    rebuilt = get_source(spec.pop("name"), **spec)  # as an unpickled model rebuilds it
    assert rebuilt.name == JOINT and rebuilt.input_lengths == joint.input_lengths
    with pytest.raises(ValueError, match="apply to single sources"):
        get_source(JOINT, input_length=2048)


@pytest.fixture(scope="module")
def fitted_joint(small_xy):
    X, y = small_xy
    return tiny_classifier(source=JOINT, max_epochs=2, views="series").fit(X, y), X


def test_one_head_reads_every_source_and_every_program_trains(fitted_joint):
    clf, X = fitted_joint
    tiny, full = (get_source(name).with_readout("inner") for name in member_names(JOINT))
    assert clf.mapping_.shape == (3, tiny.n_outputs + full.n_outputs)
    assert clf.readout_ == "inner+inner"
    assert all(program.delta.abs().sum() > 0 for program in clf.model_.program.programs)
    assert clf.program_.shape == (2 * 1024,) and clf.program_fraction_ == clf.mask_.mean()


def test_a_joint_model_pickles_without_weights_and_saves(fitted_joint, tmp_path):
    clf, X = fitted_joint
    expected = clf.predict_proba(X)
    pickled = pickle.dumps(clf)
    assert len(pickled) < 5 * 2**20  # CREPE-full alone is 88 MB of weights: rebuilt, not stored
    np.testing.assert_allclose(pickle.loads(pickled).predict_proba(X), expected, atol=1e-6)
    clf.save(tmp_path / "joint.v2s")
    np.testing.assert_allclose(V2SClassifier.load(tmp_path / "joint.v2s").predict_proba(X), expected, atol=1e-6)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"mapping": "random"}, "mapping='random' does not apply"),
        ({"sample_specific_mask": True}, "sample_specific_mask=True does not apply"),
        ({"source": "crepe-tiny+wav2vec"}, "'source' parameter"),
    ],
)
def test_what_a_joint_model_cannot_do_is_refused_clearly(small_xy, params, message):
    X, y = small_xy
    with pytest.raises(ValueError, match=message):
        tiny_classifier(**{"source": JOINT, "max_epochs": 1, **params}).fit(X, y)
