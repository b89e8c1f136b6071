"""The estimator's parameter table, read by the command line and the sktime adapter.

A :class:`~voice2series.V2SClassifier` parameter is declared once: its name
and default in ``__init__``, its allowed values in ``_parameter_constraints``
and its meaning in the numpydoc docstring. This module turns that table into
command-line options (same names everywhere, ``max_epochs`` →
``--max-epochs``) and into the signature of adapters that delegate to the
estimator, so adding a parameter touches the estimator only.
"""

from __future__ import annotations

import argparse
import inspect
import re
from dataclasses import dataclass
from numbers import Integral, Real

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

__all__ = [
    "CLI_EXCLUDED",
    "VALUES_BEFORE_DEFAULT_CHANGED",
    "EstimatorParameter",
    "add_estimator_options",
    "delegating_init",
    "estimator_parameters",
    "params_from_args",
]

#: Values that reproduce what a V2SClassifier did before one of its parameters
#: existed, where they differ from today's default: the bench completes older
#: results rows with them, and ``load`` older model files. A parameter is added
#: with a default that keeps earlier results, so only a later change of default
#: is listed.
VALUES_BEFORE_DEFAULT_CHANGED = {
    "readout": "logits",
    # Round 7's defaults (voice2series.presets.ROUND3_DEFAULT) over the values before it.
    "head_init": "random",
    "head_learning_rate": None,
    "views": "series",
    # Round 9's (voice2series.presets.ROUND7_DEFAULT): no refit before it existed.
    "refit_head": False,
    # Round 12's (voice2series.presets.ROUND9_DEFAULT): each view at its own length.
    "time_scales": "1",
    "program_scales": "all",
    # Round 13's (voice2series.presets.ROUND12_DEFAULT): stretched windows half a window apart.
    "stretched_window_hop": 0.5,
    # Round 15's (voice2series.presets.ROUND14_DEFAULT): variable-length series stretched to the longest.
    "unequal_lengths": "resample",
}

# Parameters the command line sets its own way: --seed for random_state,
# progress output for verbose.
CLI_EXCLUDED = ("random_state", "verbose")


@dataclass(frozen=True)
class EstimatorParameter:
    """One row of the parameter table.

    Attributes
    ----------
    name : str
    default : object
    constraints : list
        scikit-learn parameter constraints (``_parameter_constraints``).
    help : str
        First sentence of the docstring entry.
    type_text : str
        The docstring's type line, e.g. ``{"start", "centre"}, default="start"``.
    """

    name: str
    default: object
    constraints: list
    help: str
    type_text: str

    @property
    def option(self):
        """The command-line option: ``--max-epochs`` for ``max_epochs``."""
        return "--" + self.name.replace("_", "-")


def estimator_parameters(estimator_class: type) -> list[EstimatorParameter]:
    """The parameter table of an estimator class, in signature order.

    Parameters
    ----------
    estimator_class : type
        A scikit-learn estimator with ``_parameter_constraints`` and a numpydoc
        docstring.

    Returns
    -------
    list of EstimatorParameter

    Examples
    --------
    >>> from voice2series import V2SClassifier
    >>> [p.option for p in estimator_parameters(V2SClassifier)][:3]
    ['--source', '--input-length', '--mapping']
    """
    docs = _docstring_parameters(estimator_class.__doc__ or "")
    signature = inspect.signature(estimator_class.__init__)
    rows = []
    for name, parameter in signature.parameters.items():
        if name == "self":
            continue
        if name not in estimator_class._parameter_constraints or name not in docs:
            raise TypeError(
                f"{estimator_class.__name__} parameter {name!r} needs an entry in "
                "_parameter_constraints and in the docstring's Parameters section."
            )
        type_text, description = docs[name]
        rows.append(
            EstimatorParameter(
                name,
                parameter.default,
                estimator_class._parameter_constraints[name],
                _first_sentence(description),
                type_text,
            )
        )
    return rows


def _docstring_parameters(docstring):
    """``{name: (type line, description)}`` from a numpydoc Parameters section."""
    lines = inspect.cleandoc(docstring).splitlines()
    try:
        start = lines.index("Parameters") + 2
    except ValueError:
        return {}
    entries, name = {}, None
    for line in lines[start:]:
        if line and not line.startswith(" "):
            if " : " not in line and name is not None:
                break  # the next section's title
            name, _, type_text = line.partition(" : ")
            entries[name.strip()] = (type_text.strip(), [])
        elif line.strip() and name is not None:
            entries[name][1].append(line.strip())
    return {name: (type_text, " ".join(words)) for name, (type_text, words) in entries.items()}


def _first_sentence(text):
    """The first sentence, without reStructuredText roles and literals, safe for argparse."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")
    match = re.match(r"(.+?\.)(\s|$)", text)
    return (match.group(1) if match else text).replace("%", "%%")


# ------------------------------------------------------------- command line
def add_estimator_options(group, estimator_class: type, exclude: tuple[str, ...] = CLI_EXCLUDED) -> None:
    """Add one option per estimator parameter to an argparse parser or group.

    An option left out is absent from the parsed namespace (not ``None``,
    which ``--resample none`` means), so :func:`params_from_args` passes on
    only what the user set.

    Parameters
    ----------
    group : argparse.ArgumentParser or argument group
    estimator_class : type
    exclude : tuple of str
        Parameters the command sets otherwise.
    """
    for parameter in estimator_parameters(estimator_class):
        if parameter.name in exclude:
            continue
        help_text = f"{parameter.help} (default: {parameter.default!r})"
        if parameter.constraints == ["boolean"]:
            group.add_argument(
                parameter.option, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text
            )
            continue
        choices = _string_choices(parameter.constraints)
        # A StrOptions subclass accepts more than its listed options (joined source names): convert, not choose.
        only_strings = all(type(c) is StrOptions or isinstance(c, HasMethods) for c in parameter.constraints)
        group.add_argument(
            parameter.option,
            default=argparse.SUPPRESS,
            choices=sorted(choices) if only_strings else None,
            type=None if only_strings else _converter(parameter),
            metavar=None if only_strings else _metavar(parameter.constraints),
            help=help_text,
        )


def params_from_args(args: argparse.Namespace, estimator_class: type, exclude: tuple[str, ...] = CLI_EXCLUDED) -> dict:
    """The estimator parameters set on the command line, by name.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser that :func:`add_estimator_options` extended.
    estimator_class : type
    exclude : tuple of str

    Returns
    -------
    dict
    """
    names = [p.name for p in estimator_parameters(estimator_class) if p.name not in exclude]
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def _string_choices(constraints):
    return {option for c in constraints if isinstance(c, StrOptions) for option in c.options}


def _metavar(constraints):
    parts = sorted(_string_choices(constraints))
    parts += ["true", "false"] if "boolean" in constraints else []
    parts += ["INT"] if any(isinstance(c, Interval) and c.type is Integral for c in constraints) else []
    parts += ["FLOAT"] if any(isinstance(c, Interval) and c.type is Real for c in constraints) else []
    parts += ["none"] if None in constraints else []
    # A StrOptions subclass without options checks free text (time scales such as "1+4").
    parts += ["VALUE"] if any(isinstance(c, StrOptions) and not c.options for c in constraints) else []
    if len(parts) == 1:
        return parts[0]
    return "{" + ",".join(parts) + "}" if parts else "VALUE"


def _converter(parameter):
    """argparse ``type``: the command-line text as the value the constraints allow."""
    constraints = parameter.constraints

    def convert(text):
        lowered = text.strip().lower()
        if None in constraints and lowered == "none":
            return None
        if any(isinstance(c, StrOptions) and c.is_satisfied_by(lowered) for c in constraints):
            return lowered
        if "boolean" in constraints and lowered in ("true", "false"):
            return lowered == "true"
        for constraint in constraints:
            if isinstance(constraint, Interval) or constraint in (int, float, str):
                kind = getattr(constraint, "type", constraint)
                try:
                    return int(text) if kind in (Integral, int) else kind(text) if kind is str else float(text)
                except ValueError:
                    continue
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid {parameter.option}; use {_metavar(constraints)} ({parameter.type_text})."
        )

    convert.__name__ = parameter.name
    return convert


# ------------------------------------------------------------------ adapters
def delegating_init(estimator_class: type, base_class: type):
    """An ``__init__`` with exactly the estimator's parameters, for an adapter class.

    The adapter then lists no parameter itself: scikit-learn and sktime read
    its parameters from the signature this function gives it, and
    ``__init__`` only stores them (then calls the adapter's base ``__init__``).

    Parameters
    ----------
    estimator_class : type
        The estimator whose parameters the adapter takes.
    base_class : type
        The adapter's base class; its ``__init__`` runs last, without arguments.

    Returns
    -------
    function
    """
    signature = inspect.signature(estimator_class.__init__)
    parameters = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.name != "self" else p for p in signature.parameters.values()
    ]

    def __init__(self, **params):
        unknown = set(params) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected parameters {sorted(unknown)}.")
        for parameter in parameters[1:]:
            setattr(self, parameter.name, params.get(parameter.name, parameter.default))
        base_class.__init__(self)

    __init__.__signature__ = signature.replace(parameters=parameters)
    __init__.__doc__ = f"Store the parameters of :class:`{estimator_class.__name__}`."
    return __init__
