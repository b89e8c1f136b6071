"""voice2series.parameters: one parameter table for the estimator, the command line and sktime."""

import argparse
import inspect
from numbers import Real

import numpy as np
import pytest
from sklearn.utils._param_validation import Interval, InvalidParameterError
from sktime.classification.base import BaseClassifier

from voice2series import V2SClassifier
from voice2series.cli import _parser
from voice2series.parameters import (
    CLI_EXCLUDED,
    add_estimator_options,
    delegating_init,
    estimator_parameters,
    params_from_args,
)
from voice2series.sktime import V2SSktimeClassifier


def _with_noise():
    """V2SClassifier plus one parameter, added the way a developer adds one: signature,
    constraint and docstring entry, nothing else."""
    signature = inspect.signature(V2SClassifier.__init__)
    noise = inspect.Parameter("noise", inspect.Parameter.KEYWORD_ONLY, default=0.0)

    def __init__(self, **params):
        self.noise = params.pop("noise", 0.0)
        V2SClassifier.__init__(self, **params)

    __init__.__signature__ = signature.replace(parameters=[*signature.parameters.values(), noise])
    entry = "    noise : float, default=0.0\n        Gaussian noise added to the series in fit.\n\n    Attributes\n"
    return type(
        "WithNoise",
        (V2SClassifier,),
        {
            "__init__": __init__,
            "__doc__": V2SClassifier.__doc__.replace("    Attributes\n", entry, 1),
            "_parameter_constraints": {
                **V2SClassifier._parameter_constraints,
                "noise": [Interval(Real, 0, None, closed="left")],
            },
        },
    )


def test_a_new_parameter_reaches_the_command_line_and_the_sktime_adapter():
    WithNoise = _with_noise()
    parser = argparse.ArgumentParser()
    add_estimator_options(parser, WithNoise)
    params = params_from_args(parser.parse_args(["--noise", "0.5", "--max-epochs", "3"]), WithNoise)
    assert params == {"noise": 0.5, "max_epochs": 3}
    assert WithNoise(**params).get_params()["noise"] == 0.5

    class Adapter(V2SSktimeClassifier):
        __init__ = delegating_init(WithNoise, BaseClassifier)
        _estimator_class = WithNoise

    adapter = Adapter(noise=0.25, max_epochs=1, batch_size=64, random_state=0)
    assert adapter.get_params()["noise"] == 0.25
    X, y = np.random.default_rng(0).normal(size=(8, 1, 20)), np.array([0, 1] * 4)
    assert adapter.fit(X, y).estimator_.noise == 0.25


def test_the_new_parameter_is_validated_from_its_constraint(capsys):
    WithNoise = _with_noise()
    with pytest.raises(InvalidParameterError, match="'noise' parameter"):
        WithNoise(noise=-1.0, max_epochs=1).fit(np.zeros((4, 10)), [0, 1, 0, 1])
    parser = argparse.ArgumentParser()
    add_estimator_options(parser, WithNoise)
    with pytest.raises(SystemExit):
        parser.parse_args(["--noise", "loud"])
    assert "'loud' is not a valid --noise" in capsys.readouterr().err


def test_run_and_bench_share_every_option_name():
    subcommands = _parser()._subparsers._group_actions[0].choices

    def options(name):
        return {a.dest for a in subcommands[name]._actions if a.option_strings}

    names = {p.name for p in estimator_parameters(V2SClassifier)} - set(CLI_EXCLUDED)
    assert names <= options("run") and names <= options("bench")


def test_an_undocumented_parameter_is_refused():
    class Undocumented(V2SClassifier):
        _parameter_constraints = {**V2SClassifier._parameter_constraints}

    Undocumented.__doc__ = V2SClassifier.__doc__.replace("    segments : int, default=1\n", "    segs : int\n")
    with pytest.raises(TypeError, match="'segments' needs an entry"):
        estimator_parameters(Undocumented)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--resample", "none"], {"resample": None}),
        (["--resample", "auto"], {"resample": "auto"}),
        (["--resample", "300"], {"resample": 300}),
        (["--early-stopping", "false"], {"early_stopping": False}),
        (["--early-stopping", "auto"], {"early_stopping": "auto"}),
        (["--sample-specific-mask"], {"sample_specific_mask": True}),
        (["--no-train-program"], {"train_program": False}),
        (["--source", "crepe-tiny"], {"source": "crepe-tiny"}),
        (["--source", "crepe-tiny+crepe-full"], {"source": "crepe-tiny+crepe-full"}),
        ([], {}),
    ],
)
def test_mixed_type_options_convert_to_the_values_the_estimator_takes(argv, expected):
    parser = argparse.ArgumentParser()
    add_estimator_options(parser, V2SClassifier)
    assert params_from_args(parser.parse_args(argv), V2SClassifier) == expected


def test_an_unknown_source_is_refused_on_the_command_line(capsys):
    parser = argparse.ArgumentParser()
    add_estimator_options(parser, V2SClassifier)
    with pytest.raises(SystemExit):
        parser.parse_args(["--source", "crepe-tiny+wav2vec"])
    assert "'crepe-tiny+wav2vec' is not a valid --source" in capsys.readouterr().err


def test_the_adapter_signature_is_the_estimators():
    ours = inspect.signature(V2SClassifier.__init__).parameters
    theirs = inspect.signature(V2SSktimeClassifier.__init__).parameters
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]
    with pytest.raises(TypeError, match="unexpected parameters"):
        V2SSktimeClassifier(max_epoch=3)
