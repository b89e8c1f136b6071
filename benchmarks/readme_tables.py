"""README.md's numbers, generated from the committed results files they cite.

Every table or sentence of numbers in README.md sits between two markers::

    <!-- generated: KIND ARGUMENTS -->
    ...
    <!-- /generated -->

and is the output of ``KINDS[KIND](*ARGUMENTS)``, which reads files under
``benchmarks/results/``. ``python benchmarks/readme_tables.py`` rewrites the
blocks; ``--check`` exits 1 when README.md differs from its files (the test
suite runs the same check).

Usage: python benchmarks/readme_tables.py [--check]
"""

import argparse
import csv
import json
import re
import sys
from pathlib import Path

import numpy as np

from voice2series.presets import PREVIOUS_DEFAULT, ROUND3_DEFAULT, ROUND7_DEFAULT, ROUND9_DEFAULT

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- generated: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.DOTALL)


def _latest_v2s(rows):
    """Every baseline row, and per dataset the V2S rows of the configuration run last.

    A results folder can hold rows of several V2S configurations (a rerun
    with changed options adds rows beside the old ones); its report.md shows
    the last one run for each dataset.
    """
    latest = {}
    for row in (r for r in rows if r["method"] == "v2s"):
        if row["finished_at"] >= latest.get(row["dataset"], ("", ""))[0]:
            latest[row["dataset"]] = (row["finished_at"], row["config"])
    return [r for r in rows if r["method"] != "v2s" or r["config"] == latest[r["dataset"]][1]]


def _rows(folder, config=None):
    """A results folder's rows as its report shows them; ``config``: only V2S rows whose configuration
    holds these values (a key a row does not record ran with :data:`_CONFIG_DEFAULTS`'s value)."""
    with open(ROOT / folder / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if config:
        rows = [r for r in rows if r["method"] != "v2s" or _holds(json.loads(r["config"]), config)]
    return _latest_v2s(rows)


def _holds(row_config, config):
    held = {**_CONFIG_DEFAULTS, **row_config}
    return all(held.get(key) == value for key, value in config.items())


def _json(path):
    return json.loads((ROOT / path).read_text())


def _mean_std(values):
    """Mean ± sample standard deviation (ddof=1), as every report here states it."""
    values = np.asarray(values, dtype=float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.3f} ± {std:.3f}"


def _machine(record):
    parts = [record.get("date"), record.get("cpu") or record.get("machine")]
    if record.get("cores"):
        parts.append(f"{record['cores']} cores")
    if record.get("load_average_1min_at_start") is not None:
        parts.append(f"load average {record['load_average_1min_at_start']} at the start")
    parts.append(f"torch {record.get('torch')}")
    return ", ".join(str(p) for p in parts if p)


def top_run(path):
    """The README's first command: its accuracy and fit time, with machine and date."""
    record = _json(path)
    return (
        f"On one machine ({_machine(record)}) `{record['command']}` printed test accuracy "
        f"**{record['accuracy']:.4f}** after a {record['fit_seconds']:.1f} s fit "
        f"(`{path}`, written by `python benchmarks/readme_run.py`). Fit times differ between "
        "machines and with other jobs on the cores.\n"
    )


def core(path):
    """The default configuration on one dataset over seeds (benchmarks/core_gunpoint.py)."""
    record = _json(path)
    runs = record["runs"]
    accuracies = [r["accuracy"] for r in runs]
    seconds = [r["fit_seconds"] for r in runs]
    params = record["params"]
    head = f"{params['mapping']} head"
    if params.get("head_init", "random") != "random":  # round 7: the probe's head, kept at step 0
        head += f" started at the {params['head_init']} probe, head step {params['head_learning_rate']},"
    if params.get("refit_head") is True:  # round 9: refitted to the trained program's outputs
        head += " refitted to the trained program's outputs,"
    views = params.get("views", "series")
    scales = ""
    if params.get("time_scales", "1") != "1":  # round 12: also stretched, programs on some scales
        scales = f" at time scales {params['time_scales']} (programs trained at {params['program_scales']})"
    configuration = (
        f"{params['source']} reading {' and '.join(views.split('+'))}{scales}, {head} on its "
        f"{runs[0].get('readout', 'logits')} readout, lr {params['learning_rate']}, {params['max_epochs']} epochs"
    )
    return (
        "\n".join(
            [
                "| dataset | default configuration | seeds | test accuracy (mean ± std) | fit seconds (mean / max) |"
                " epoch time / source fwd+bwd time |",
                "|---|---|---|---|---|---|",
                f"| {record['dataset']} | {configuration} | {', '.join(str(r['seed']) for r in runs)} | "
                f"**{_mean_std(accuracies)}** ({', '.join(f'{a:.3f}' for a in accuracies)}) | "
                f"{np.mean(seconds):.1f} / {max(seconds):.1f} | {np.mean([r['overhead_ratio'] for r in runs]):.2f} |",
                "",
                f"`{path}` ({_machine(record)}; std is the sample standard deviation).",
            ]
        )
        + "\n"
    )


def bench(folder):
    """A bench report's main table, and its cost figures from the CSV."""
    report = (ROOT / folder / "report.md").read_text().splitlines()
    start = next(i for i, line in enumerate(report) if line.startswith("| dataset |"))
    end = next(i for i in range(start, len(report)) if not report[i].startswith("|"))
    rows = _rows(folder)
    v2s_fit = np.mean([float(r["fit_seconds"]) for r in rows if r["method"] == "v2s"])
    dtw = [r for r in rows if r["method"] == "1nn-dtw"]
    slowest = max(dtw, key=lambda r: float(r["predict_seconds"]), default=None)
    lines = [*report[start:end], ""]
    cost = f"V2S fit {v2s_fit:.1f} s on average per run"
    if slowest is not None:
        cost += (
            f"; full-window 1-NN DTW predicted {slowest['dataset']} in "
            f"{float(slowest['predict_seconds']) / 60:.0f} minutes, the longest unit"
        )
    finished = max(r["finished_at"] for r in rows)
    lines.append(f"{cost} (`{folder}/results.csv`, {len(rows)} rows, last row {finished[:10]}).")
    return "\n".join(lines) + "\n"


# performance.json files written before round 3 timed the default of the time.
PREVIOUS_DEFAULT_ARGS = "".join(f", {name}={value!r}" for name, value in PREVIOUS_DEFAULT.items())


def _pinned(label, values):
    """A row label: an earlier default, with the values that pin it."""
    return f"not a preset: {label} (" + ", ".join(f"`{name}={value!r}`" for name, value in values.items()) + ")"


# Rows of preset_cost.py --params: configurations timed beside the presets, not presets.
NOT_PRESETS = {
    "round3-default": _pinned("the default of rounds 3-6", ROUND3_DEFAULT),
    "previous-default": _pinned("the default until round 3", PREVIOUS_DEFAULT),
    "tempered": "not a preset: the default with `program_loss='tempered'` (round 8)",
    "round7-default": _pinned("the default of rounds 7-8", ROUND7_DEFAULT),
    "round9-default": _pinned("the default of rounds 9-11", ROUND9_DEFAULT),
}
# Where each preset's test accuracy comes from: a bench folder and what its V2S rows'
# configurations must hold (a folder may hold a probe and its trained twin, or several probes).
PRESET_BENCHES = {
    # Round 15's run: its own rows on the two variable-length datasets, round 13's on the others (the same
    # computation for series of one length).
    "default": ("benchmarks/results/bench_offline_round15", {"stretched_window_hop": 1.0, "train_program": True}),
    "round9-default": ("benchmarks/results/bench_offline_round9", {"refit_head": True, "early_stopping": "auto"}),
    "round7-default": ("benchmarks/results/bench_offline_round7", {"train_program": True}),
    "round3-default": ("benchmarks/results/bench_offline_round3", {"train_program": True}),
    # The default until round 3; on the 5 datasets the presets share (none
    # longer than half a CREPE frame) round 1 ran this same computation.
    "previous-default": ("benchmarks/results/bench_offline", {"train_program": True}),
    "crepe-speech": ("benchmarks/results/bench_crepe_speech", {"train_program": True}),
    "ensemble": ("benchmarks/results/bench_ensemble5", {"train_program": True}),
    "probe": ("benchmarks/results/bench_offline_round4", {"train_program": False, "source": "crepe-tiny"}),
    "probe-diff": ("benchmarks/results/bench_offline_round7", {"train_program": False}),
    "probe-scales": ("benchmarks/results/bench_offline_round10", {"time_scales": "1+4"}),
    "program-scales": ("benchmarks/results/bench_offline_round14", {"time_scales": "1+4"}),
    "probe-auto": ("benchmarks/results/bench_offline_round5", {}),
    "tempered": ("benchmarks/results/bench_offline_round8", {"program_loss": "tempered"}),
}
# A configuration written without these keys ran with these values.
_CONFIG_DEFAULTS = {"train_program": True}


def presets(path):
    """Each preset's fit time (and its ratio to the default) and mean test accuracy."""
    record = _json(path)
    seconds = {r["preset"]: r["fit_seconds"] for r in record["results"]}
    accuracy = {name: _v2s_accuracy(*PRESET_BENCHES[name]) for name in seconds}
    shared = sorted(set.intersection(*(set(a) for a in accuracy.values())))
    lines = [
        f"| preset | fit time ({record['dataset']}) | × default | mean test accuracy, {len(shared)} datasets |",
        "|---|---|---|---|",
    ]
    for name, fit in seconds.items():
        mean = np.mean([np.mean(accuracy[name][d]) for d in shared])
        label = NOT_PRESETS.get(name, f'`"{name}"`')
        ratio = fit / seconds["default"]
        lines.append(f"| {label} | {fit:.1f} s | {ratio:.{1 if ratio >= 0.1 else 2}f} | {mean:.3f} |")
    folders = dict.fromkeys(PRESET_BENCHES[name][0] for name in seconds)
    lines += [
        "",
        f"Fit time: `{path}` (`python benchmarks/preset_cost.py`, seed {record.get('seed', 0)}, "
        f"{_machine(record)}{_warmup(record)}). "
        f"Accuracy: mean over {', '.join(shared)} of the seeds 0-2 test accuracies in "
        + ", ".join(f"`{folder}`" for folder in folders)
        + " (`python cli.py bench`).",
    ]
    return "\n".join(lines) + "\n"


def _warmup(record):
    n_series = record.get("warmup_series")
    return f"; each timed after an untimed fit of every preset on {n_series} series" if n_series else ""


def _v2s_accuracy(folder, config):
    """Test accuracies by dataset of the folder's V2S rows whose configuration holds ``config``."""
    by_dataset = {}
    for row in (r for r in _rows(folder, config) if r["method"] == "v2s"):
        by_dataset.setdefault(row["dataset"], []).append(float(row["accuracy"]))
    return by_dataset


LABELS = {
    "bench_offline": "voice2series (round-1 default)",
    "bench_crepe_speech": "crepe-speech preset",
    "bench_ensemble5": "ensemble of 5",
    "bench_lr0.03": "lr 0.03",
}


def compare(*folders):
    """V2S of several bench folders side by side, with the paper's V2S_a and the first folder's baselines."""
    columns = {folder: _by_method(folder) for folder in folders}
    paper = {}
    with open(ROOT / "voice2series/data/v2s_paper_table2.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            paper[row["dataset"]] = float(row["v2s_a"]) / 100
    first = columns[folders[0]]
    labels = [LABELS.get(Path(folder).name, Path(folder).name) for folder in folders]
    lines = [
        "| dataset | " + " | ".join(labels) + " | paper V2S_a | MiniRocket | 1-NN DTW |",
        "|---" * (len(folders) + 4) + "|",
    ]
    for dataset in sorted(first["v2s"]):
        cells = [_cell(columns[folder]["v2s"].get(dataset)) for folder in folders]
        cells += [f"{paper[dataset]:.3f}" if dataset in paper else ""]
        cells += [_cell(first.get(method, {}).get(dataset)) for method in ("minirocket", "1nn-dtw")]
        lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    sources = ", ".join(f"`{folder}`" for folder in folders)
    return "\n".join([*lines, "", f"Test accuracy, mean ± std over seeds 0-2 (1-NN DTW: one run): {sources}."]) + "\n"


def _by_method(folder):
    table = {}
    for row in _rows(folder):
        table.setdefault(row["method"], {}).setdefault(row["dataset"], []).append(float(row["accuracy"]))
    return table


def _cell(values):
    if not values:
        return ""
    return f"{values[0]:.3f}" if len(values) == 1 else _mean_std(values)


def performance(path):
    """Fit CPU seconds of the three training paths side by side (benchmarks/performance.py)."""
    record = _json(path)
    lines = [
        "| dataset | autograd, whole source | frozen-conv backward | + amortised first layer | ratio to the first |"
        " accuracy (three paths) |",
        "|---|---|---|---|---|---|",
    ]
    for row in record["results"]:
        paths = [row[name] for name in ("plain_old", "plain", "amortised")]
        lines.append(
            f"| {row['dataset']} | "
            + " | ".join(f"{p['fit_cpu_seconds']:.1f} s" for p in paths)
            + f" | {row['cpu_ratio']['amortised']:.2f} | "
            + ", ".join(f"{p['accuracy']:.3f}" for p in paths)
            + " |"
        )
    machine = record["machine"]
    lines += [
        "",
        f"Process CPU seconds of `V2SClassifier(random_state=0{record.get('params', PREVIOUS_DEFAULT_ARGS)}).fit`"
        f"{'' if 'params' in record else ' (the default until round 3)'}, "
        f"{record['threads']} torch thread, "
        f"100 epochs, one run of each side by side (`{path}`, `python benchmarks/performance.py`, "
        f"{record['date']}, {machine['cpu_model']}, load average {machine['load_average_before'][0]} "
        "from other jobs, so wall times were several times longer).",
    ]
    return "\n".join(lines) + "\n"


def _report_rows(path):
    """``{dataset: cells}`` of a bench report.md's main table (the mean row under "mean")."""
    report = (ROOT / path).read_text().splitlines()
    start = next(i for i, line in enumerate(report) if line.startswith("| dataset |")) + 2
    rows = {}
    for line in report[start:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        rows["mean" if cells[0].startswith("mean") else cells[0]] = cells
    return rows


def reports(*specs):
    """V2S columns of several bench reports (``label=path``, label with ``_`` for spaces) beside
    the first report's baselines."""
    columns = [(label.replace("_", " "), _report_rows(path)) for label, path in (s.split("=", 1) for s in specs)]
    first = columns[0][1]
    lines = [
        "| dataset | " + " | ".join(label for label, _ in columns) + " | 1-NN ED | 1-NN DTW | MiniRocket |",
        "|---" * (len(columns) + 4) + "|",
    ]
    for dataset, cells in first.items():
        name = "**mean**" if dataset == "mean" else dataset
        row = [rows.get(dataset, [""] * 6)[2] for _, rows in columns] + [cells[4], cells[5], cells[3]]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    sources = ", ".join(f"`{path}`" for path in (s.split("=", 1)[1] for s in specs))
    return "\n".join([*lines, "", f"From {sources} (`python cli.py bench`; each report says its seeds)."]) + "\n"


KINDS = {
    "reports": reports,
    "run": top_run,
    "core": core,
    "bench": bench,
    "presets": presets,
    "compare": compare,
    "performance": performance,
}


def render(text):
    """``text`` with every generated block recomputed from its files."""

    def replace(match):
        kind, *arguments = match.group("spec").split()
        if kind not in KINDS:
            raise ValueError(f"README block kind {kind!r} is unknown; use one of {sorted(KINDS)}.")
        return match.group(1) + KINDS[kind](*arguments) + match.group(4)

    return BLOCK.sub(replace, text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md differs from its files")
    args = parser.parse_args()
    text = README.read_text()
    rendered = render(text)
    if args.check:
        if rendered != text:
            print("README.md differs from the results files it cites; run python benchmarks/readme_tables.py")
            return 1
        print(f"README.md matches its results files ({len(BLOCK.findall(text))} generated blocks).")
        return 0
    README.write_text(rendered)
    print(f"rewrote {len(BLOCK.findall(text))} generated blocks of {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
