"""How long a benchmark unit takes, from measured units: projections and plans.

A log-linear model per method and phase, fitted by least squares to the rows of
benchmark results CSVs (``fit_seconds``, ``predict_seconds`` against the
dataset's shape)::

    log(seconds) = b0 + sum_j b_j * log(feature_j)  [+ log(max_epochs * views * ensemble) for V2S fit]

with the features each method's cost depends on (:data:`FEATURES`): V2S trains
``max_epochs`` passes over the training set (series are shrunk to the source
model's input when longer), MiniRocket transforms every series once, a 1-NN
classifier compares every test series with every training series. The
coefficients committed in ``voice2series/data/cost_model.json`` come from
``python -m voice2series.cost_model benchmarks/results/*/results.csv``, which
also prints the leave-one-dataset-out error (each dataset's units projected by a
model fitted without it).

:func:`plan` projects a whole benchmark (core-hours per method) and its wall
time on N workers under longest-first scheduling, the order in which
:func:`voice2series.benchmark.run_benchmark` submits its units too.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .estimator import V2SClassifier
from .parameters import VALUES_BEFORE_DEFAULT_CHANGED
from .program import window_layout
from .sources import input_length
from .training import program_scales_of, resolve_auto, time_scales_of, window_hop

__all__ = ["FEATURES", "CostModel", "dataset_shapes", "default_model", "fit_cost_model", "plan", "format_plan"]

_DATA = Path(__file__).resolve().parent / "data"
MODEL_FILE = _DATA / "cost_model.json"
SHAPES_FILE = _DATA / "ucr_shapes.csv"
FLOOR = 1e-3  # seconds: measured zeros (1-NN "fits") become this before the logarithm

# Features (log-scaled) of each method's fit and predict time.
FEATURES = {
    "v2s": {"fit": ("n_train", "n_timepoints", "n_classes"), "predict": ("n_test", "n_timepoints")},
    "minirocket": {"fit": ("n_train", "n_timepoints"), "predict": ("n_test", "n_timepoints")},
    "1nn-euclidean": {"fit": ("n_train",), "predict": ("pairs", "n_timepoints")},
    "1nn-dtw": {"fit": ("n_train",), "predict": ("pairs", "n_timepoints")},
}
# The shipped coefficients give the fit time of this many passes of the source over
# every training series' frames (max_epochs x views x ensemble x frames, _effort);
# other configurations scale by theirs.
REFERENCE_EFFORT = 100
# The source whose rows are fitted (_usable), and whose frame sets the windows.
COSTED_SOURCE = "crepe-tiny"


def _features(shape, names):
    values = {**shape, "pairs": shape["n_train"] * shape["n_test"]}
    return [1.0] + [math.log(max(float(values[name]), 1.0)) for name in names]


def _resolved(params):
    """V2SClassifier's parameters with these (None: the default), "auto" values decided."""
    given = {name: value for name, value in (params or {}).items() if value is not None}
    return resolve_auto({**V2SClassifier().get_params(), **given})


def _source_frames(params, n_timepoints=None, scales=None):
    """Source frames per series in one pass: views x ensemble members x windows of every time scale
    (or of ``scales`` only).

    Parameters left out take V2SClassifier's defaults; a results row written
    before views (time scales) existed read the series alone (at its own
    length). ``resample="windows"`` keeps a long series at its own resolution,
    one frame per window (:func:`~voice2series.program.window_layout`), of
    the series stretched ``k`` times at scale ``k``, the windows as far apart
    as :func:`~voice2series.training.window_hop` says; every other rule
    shrinks or places it in one frame.
    """
    resolved = _resolved(params)
    n_views = len(resolved["views"].split("+"))
    scales = time_scales_of(resolved["time_scales"]) if scales is None else scales
    n_windows = len(scales)
    if resolved["resample"] == "windows" and n_timepoints is not None:
        frame = input_length(COSTED_SOURCE)
        n_windows = sum(
            window_layout(scale * int(n_timepoints), frame, window_hop(resolved, scale))[0] for scale in scales
        )
    return n_views * float((params or {}).get("ensemble", 1) or 1) * n_windows


def _effort(params, n_timepoints=None):
    """Source passes over every training series' frames in a fit: max_epochs x :func:`_source_frames`,
    except that in a model of several members (views or time scales) those whose program does not
    train make one pass (training.FixedMemberCache computes their outputs once)."""
    resolved = _resolved(params)
    # A probe (max_epochs=0) makes one pass, to fit its head.
    epochs = float(max(resolved["max_epochs"], 1))
    every = _source_frames(params, n_timepoints)
    scales = time_scales_of(resolved["time_scales"])
    if len(resolved["views"].split("+")) * len(scales) == 1:
        return epochs * every
    trained = 0.0
    if resolved["train_program"]:
        trained_scales = program_scales_of(resolved["program_scales"], resolved["time_scales"])
        trained = _source_frames(params, n_timepoints, trained_scales)
    return epochs * trained + (every - trained)


def _phase_scale(phase, params, n_timepoints):
    """A V2S unit's seconds over the coefficients' reference: the fit's effort over REFERENCE_EFFORT,
    the prediction's frames per series (one pass) over one frame."""
    if phase == "fit":
        return _effort(params, n_timepoints) / REFERENCE_EFFORT
    return _source_frames(params, n_timepoints)


@dataclass
class CostModel:
    """Coefficients per method and phase, with the error measured when fitted.

    Attributes
    ----------
    coef : dict
        ``{method: {"fit": [b0, b1, ...], "predict": [...]}}``, for :data:`FEATURES`.
    validation : dict
        ``{method: {"datasets": n, "median_factor": x, "max_factor": y}}``: the
        leave-one-dataset-out ratio between projected and measured unit seconds
        (``max(p/m, m/p)``).
    sources : list of str
        The results files it was fitted on.
    """

    coef: dict
    validation: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)

    def predict(self, method, shape, params=None):
        """Projected seconds (fit + predict) of one unit.

        Parameters
        ----------
        method : str
        shape : dict
            ``n_train``, ``n_test``, ``n_timepoints``, ``n_classes``.
        params : dict, optional
            V2S parameters (``max_epochs``, ``views``, ``ensemble``, ``resample``).

        Returns
        -------
        float
            Seconds; a rough product of the shape when the method is unknown.
        """
        if method not in self.coef:
            return shape["n_train"] * shape["n_test"] * shape["n_timepoints"] * 1e-7
        total = 0.0
        for phase in ("fit", "predict"):
            x = _features(shape, FEATURES[method][phase])
            seconds = math.exp(float(np.dot(self.coef[method][phase], x)))
            if method == "v2s":
                seconds *= _phase_scale(phase, params, shape["n_timepoints"])
            total += seconds
        return total

    def to_json(self, path):
        Path(path).write_text(
            json.dumps(
                {"features": FEATURES, "coef": self.coef, "validation": self.validation, "sources": self.sources},
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, path):
        data = json.loads(Path(path).read_text())
        return cls(data["coef"], data.get("validation", {}), data.get("sources", []))


# Columns a results file of run_benchmark has and the fit reads; another CSV a glob
# picks up (the reproduction's results) is left out, with a warning.
RESULT_COLUMNS = ("dataset", "method", "fit_seconds", "predict_seconds", "n_train", "n_test", "n_timepoints")


def _rows(paths):
    """The rows of these results files, each measurement once: a declared round's file starts with rows
    copied from an earlier one (``offline_bench.sh``'s ``copy_rows``), same ``key``, same ``finished_at``."""
    rows, seen = [], set()
    for path in paths:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in RESULT_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                warnings.warn(
                    f"{path} is not a benchmark results file (no {', '.join(missing)} column); left out of "
                    "the cost model. Pass the results.csv files that `python cli.py bench` writes.",
                    stacklevel=3,
                )
                continue
            for row in reader:
                measurement = (row.get("key"), row.get("finished_at"))
                if all(measurement) and measurement in seen:
                    continue
                seen.add(measurement)
                row["_source"] = str(path)
                rows.append(row)
    return rows


def _shape_of(row):
    return {k: int(row[k]) for k in ("n_train", "n_test", "n_timepoints", "n_classes")}


def _params_of(row):
    try:
        config = json.loads(row.get("config") or "{}")
    except json.JSONDecodeError:
        config = {}
    # A row's configuration holds every estimator parameter of its time; one it lacks ran with the
    # value that stood for it then (no "views" before round 7).
    layout = ("views", "time_scales", "program_scales", "stretched_window_hop")
    return {
        "max_epochs": config.get("max_epochs"),
        "ensemble": config.get("ensemble", 1),
        **{name: config.get(name, VALUES_BEFORE_DEFAULT_CHANGED[name]) for name in layout},
        # None (no resampling) and rows from before the parameter: the series in one frame.
        "resample": config.get("resample") or "fit",
        "mapping": config.get("mapping"),
    }


def _usable(row):
    if row["method"] not in FEATURES:
        return False
    if row["method"] == "v2s":
        config = json.loads(row.get("config") or "{}")
        # Other sources or training modes cost differently: only the default source, white-box, with epochs
        # (a probe's time is its logistic fit's).
        default_source = config.get("source", "crepe-tiny") == "crepe-tiny"
        return default_source and config.get("training") in (None, "white-box") and config.get("max_epochs") != 0
    return True


def _fit_rows(rows):
    coef = {}
    for method in FEATURES:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        coef[method] = {}
        for phase in ("fit", "predict"):
            names = FEATURES[method][phase]
            X = np.array([_features(_shape_of(r), names) for r in mine])
            y = np.log(np.maximum([float(r[f"{phase}_seconds"]) for r in mine], FLOOR))
            if method == "v2s":
                y = y - np.log([_phase_scale(phase, _params_of(r), int(r["n_timepoints"])) for r in mine])
            # A small ridge keeps the few-dataset fit from extreme exponents (not on the intercept).
            penalty = 1e-2 * np.eye(X.shape[1])
            penalty[0, 0] = 0.0
            coef[method][phase] = np.linalg.solve(X.T @ X + penalty, X.T @ y).tolist()
    return coef


def fit_cost_model(paths):
    """Fit the model to results CSVs and measure its leave-one-dataset-out error.

    Parameters
    ----------
    paths : list of str or Path
        ``results.csv`` files written by :func:`voice2series.benchmark.run_benchmark`.

    Returns
    -------
    CostModel
    """
    rows = [r for r in _rows(paths) if _usable(r)]
    if not rows:
        raise ValueError(f"No usable rows in {list(map(str, paths))}.")
    model = CostModel(_fit_rows(rows), {}, sorted({r["_source"] for r in rows}))
    for method in model.coef:
        mine = [r for r in rows if r["method"] == method]
        datasets = sorted({r["dataset"] for r in mine})
        factors = []
        for held in datasets:
            rest = CostModel(_fit_rows([r for r in rows if r["dataset"] != held]))
            if method not in rest.coef:
                continue
            for r in (r for r in mine if r["dataset"] == held):
                measured = max(float(r["fit_seconds"]) + float(r["predict_seconds"]), FLOOR)
                projected = rest.predict(method, _shape_of(r), _params_of(r))
                factors.append(max(projected / measured, measured / projected))
        if factors:
            model.validation[method] = {
                "datasets": len(datasets),
                "units": len(factors),
                "median_factor": round(float(np.median(factors)), 2),
                "max_factor": round(float(np.max(factors)), 2),
            }
    return model


_DEFAULT = None


def default_model():
    """The committed model (``voice2series/data/cost_model.json``).

    Returns
    -------
    CostModel
    """
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = CostModel.from_json(MODEL_FILE) if MODEL_FILE.exists() else CostModel({})
    return _DEFAULT


def dataset_shapes():
    """Train/test sizes, length and classes of the 128 UCR univariate datasets.

    From the archive's ``DataSummary.csv`` (see ``voice2series/data/README.md``);
    variable-length datasets carry the length they are equalised to.

    Returns
    -------
    dict
        ``{name: {"n_train", "n_test", "n_timepoints", "n_classes"}}``
    """
    with open(SHAPES_FILE, newline="") as handle:
        return {
            row["dataset"]: {k: int(row[k]) for k in ("n_train", "n_test", "n_timepoints", "n_classes")}
            for row in csv.DictReader(handle)
        }


def _lpt_makespan(seconds, workers):
    """Wall time of longest-first list scheduling on ``workers`` identical workers."""
    loads = [0.0] * max(1, int(workers))
    for s in sorted(seconds, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + s)
    return max(loads)


def plan(names, methods, seeds=1, resamples=1, v2s_params=None, workers=1, shapes=None, model=None):
    """Project a benchmark's cost without running it.

    Parameters
    ----------
    names : list of str
    methods : list of str
    seeds, resamples : int
        As in :func:`voice2series.benchmark.run_benchmark` (1-NN methods run once per resample).
    v2s_params : dict, optional
    workers : int
        Workers of one core each for the wall time.
    shapes : dict, optional
        Default: :func:`dataset_shapes`.
    model : CostModel, optional
        Default: :func:`default_model`.

    Returns
    -------
    dict
        ``units``, ``core_hours`` per method, ``total_core_hours``,
        ``wall_hours`` (longest-first on ``workers``), ``longest_unit_hours``,
        ``missing`` (datasets without a known shape), ``validation``.
    """
    from .benchmark import DETERMINISTIC

    model = model or default_model()
    shapes = shapes or dataset_shapes()
    missing = [n for n in names if n not in shapes]
    per_method, every = {}, []
    n_units = 0
    for method in methods:
        runs = (1 if method in DETERMINISTIC else int(seeds)) * int(resamples)
        seconds = [model.predict(method, shapes[n], v2s_params) for n in names if n in shapes]
        per_method[method] = sum(seconds) * runs / 3600
        every.extend(s for s in seconds for _ in range(runs))
        n_units += len(seconds) * runs
    return {
        "units": n_units,
        "core_hours": per_method,
        "total_core_hours": sum(per_method.values()),
        "workers": int(workers),
        "wall_hours": _lpt_makespan(every, workers) / 3600 if every else 0.0,
        "longest_unit_hours": max(every) / 3600 if every else 0.0,
        "missing": missing,
        "validation": {m: model.validation.get(m) for m in methods},
    }


def format_plan(result, datasets, seeds, resamples):
    """The plan as lines of text."""
    lines = [
        f"plan: {datasets} datasets x seeds {seeds} x resamples {resamples}: {result['units']} units (nothing run)",
        f"{'method':<15} {'core-hours':>11}   model error (leave-one-dataset-out: median, worst factor)",
    ]
    for method, hours in result["core_hours"].items():
        v = result["validation"].get(method)
        error = f"x{v['median_factor']}, x{v['max_factor']} over {v['datasets']} datasets" if v else "no measurements"
        lines.append(f"{method:<15} {hours:>11.1f}   {error}")
    lines += [
        f"{'total':<15} {result['total_core_hours']:>11.1f}",
        f"wall time on {result['workers']} single-core workers, longest unit first: "
        f"{result['wall_hours']:.1f} h (longest unit {result['longest_unit_hours']:.2f} h)",
    ]
    if result["missing"]:
        lines.append(f"no shape known (left out): {', '.join(result['missing'])}")
    return lines


def main(argv=None):
    """``python -m voice2series.cost_model RESULTS.csv ... [--out FILE]``: fit, validate, save."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", nargs="+")
    parser.add_argument("--out", default=str(MODEL_FILE))
    args = parser.parse_args(argv)
    model = fit_cost_model(args.results)
    model.sources = [os.path.relpath(s) for s in model.sources]
    model.to_json(args.out)
    for method, v in model.validation.items():
        print(
            f"{method}: leave-one-dataset-out factor median {v['median_factor']}, worst {v['max_factor']} "
            f"({v['units']} units, {v['datasets']} datasets)"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
