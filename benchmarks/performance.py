"""Fit time of the amortised first layer and the frozen convolutions' backward, side by side.

For each dataset, ``V2SClassifier(random_state=0)`` (``resample="fit"`` for
series longer than CREPE's 1024-sample input) is fitted on the official
training split three times in a row: on the plain path with autograd's
backward for every convolution (``plain_old``: ``ReprogrammedModel.amortise =
False`` and ``frozen_conv.enabled = False``, the code before the custom
backward), on the plain path with the frozen stride-1 convolutions' custom
backward (``plain``), and on the amortised path with it (``amortised``, the
default), and scored on the test split. Times are process CPU seconds (with one torch thread, the work done,
little affected by other jobs on the machine) and wall seconds. A step
micro-benchmark (forward + backward of one batch of 32, the two paths
interleaved, median of repeats) and per-layer timings show where the time
goes; a compute floor puts it in perspective: CREPE-tiny's multiply-adds per
series per epoch over the throughput of one of its own convolutions measured
here. Float32 training is sensitive to rounding, so the plain path is also
fitted with the series scaled by 1 +- 1e-6 on one dataset: the spread of its
accuracies is what rounding alone does.

``--curves`` measures scaling instead, beside MiniRocket and 1-NN DTW (aeon)
in the same run: fit time against the number of training series (50, 200,
1000 of GunPoint's length; V2S with ``max_epochs=5``, so read its time per
epoch) and against series length (100, 1000, 10000; V2S with
``resample="auto"``), and predict throughput and peak memory for many
GunPoint-length series, each prediction in a fresh process
(``benchmarks/predict_memory_worker.py``) whose peak resident size is read
from ``/proc/self/status``.

Usage: python benchmarks/performance.py [--datasets GunPoint,ArrowHead,PigCVP] [--threads N]
           [--spread-dataset ArrowHead] [--notes TEXT]
       python benchmarks/performance.py --curves [--threads N] [--predict-pythonpath DIR]
Writes benchmarks/results/performance.json and prints a markdown table; with
``--curves``, benchmarks/results/performance_curves.json and docs/performance_curves.png.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import voice2series
from voice2series import V2SClassifier
from voice2series.datasets import load_ucr
from voice2series.program import InputProgram
from voice2series.sources import CrepeSource, SplitBatch, frozen_conv
from voice2series.threads import available_cores
from voice2series.training import ReprogrammedModel

RESULTS = Path(__file__).resolve().parent / "results"
STEP_BATCH = 32


# (amortise, custom backward of the frozen stride-1 convolutions) per path.
PATHS = {"plain_old": (False, False), "plain": (False, True), "amortised": (True, True)}


def fit_and_score(dataset, amortise, amplitude=1.0, custom_backward=True):
    """Fit seconds (CPU and wall), epochs and test accuracy of the default classifier on one path."""
    X, y = load_ucr(dataset, "train")
    X_test, y_test = load_ucr(dataset, "test")
    # The logits readout, the default until round 3: the amortised first layer
    # serves it only, and the three paths are compared on it.
    params = {"readout": "logits", "resample": "fit" if X.shape[-1] > CrepeSource.frame_length else "auto"}
    ReprogrammedModel.amortise, frozen_conv.enabled = amortise, custom_backward
    try:
        clf = V2SClassifier(random_state=0, amplitude=amplitude, **params)
        cpu, wall = time.process_time(), time.perf_counter()
        clf.fit(X, y)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        ReprogrammedModel.amortise, frozen_conv.enabled = True, True
    return {
        "fit_cpu_seconds": round(cpu, 2),
        "fit_wall_seconds": round(wall, 2),
        "epochs": len(clf.history_),
        "cpu_seconds_per_epoch": round(cpu / len(clf.history_), 3),
        "accuracy": round(float(clf.score(X_test, y_test)), 4),
        "n_train": len(y),
        "params": params,
    }


def step_times(repeats):
    """Median seconds of one training step (batch of 32) on each path, interleaved.

    Paths: plain and amortised, each with autograd's backward everywhere
    (``_old``) and with the frozen convolutions' custom backward.
    """
    torch.manual_seed(0)
    source = CrepeSource("tiny")
    program = InputProgram(source.input_length, 150)
    placed = program.place(torch.randn(STEP_BATCH, 150))
    part = source.series_part(placed)

    def plain():
        program.delta.grad = None
        source(program(placed)).sum().backward()

    def amortised():
        program.delta.grad = None
        source(SplitBatch(part, program.shared_program())).sum().backward()

    def switched(step, custom_backward):
        def run():
            frozen_conv.enabled = custom_backward
            try:
                step()
            finally:
                frozen_conv.enabled = True

        return run

    steps = {
        "plain_old": switched(plain, False),
        "plain": switched(plain, True),
        "amortised_old": switched(amortised, False),
        "amortised": switched(amortised, True),
    }
    times = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm-up
    for _ in range(repeats):
        for name, step in steps.items():
            times[name].append(_timed(step))
    return {name: round(statistics.median(values), 4) for name, values in times.items()}


def layer_times(repeats):
    """Median ms per convolution of CREPE-tiny, batch of 32: forward, and forward + input gradient.

    The input gradient with autograd's transposed convolution, and, for the
    stride-1 layers, with the frozen convolution's custom backward (a forward
    convolution with the transposed, flipped kernel: the same multiply-adds
    as the forward pass).
    """
    source = CrepeSource("tiny")
    return [_layer_times(index, conv, repeats) for index, conv in enumerate(source.convs)]


def _layer_times(index, conv, repeats):
    padding = (254, 254) if index == 0 else (31, 32)
    # A frame of 1024 samples; each later layer sees half the previous one's
    # time steps (max-pooling): 128, 64, 32, 16, 8.
    length = 1024 if index == 0 else 256 >> index
    x = torch.randn(STEP_BATCH, conv.in_channels, length, requires_grad=True)
    gradient = torch.randn_like(conv(F.pad(x, padding)))
    row = {
        "layer": f"convs.{index}",
        "input": list(x.shape),
        "forward_ms": _median_ms(lambda: conv(F.pad(x, padding)), repeats),
        "forward_and_input_gradient_ms": _median_ms(
            lambda: torch.autograd.grad(conv(F.pad(x, padding)), x, gradient), repeats
        ),
    }
    if index > 0:
        row["forward_and_input_gradient_frozen_ms"] = _median_ms(
            lambda: torch.autograd.grad(frozen_conv.frozen_conv1d(x, conv, padding), x, gradient), repeats
        )
    return row


def _median_ms(function, repeats):
    function()
    return round(1e3 * statistics.median(_timed(function) for _ in range(repeats)), 1)


def multiply_adds_per_frame(source):
    """Multiply-adds of each Conv1d/Linear of ``source`` on one 1024-sample frame."""
    counts = {}

    def count(name):
        def hook(module, inputs, output):
            per_output = (
                module.in_features
                if isinstance(module, nn.Linear)
                else (module.in_channels // module.groups * module.kernel_size[0])
            )
            counts[name] = output[0].numel() * per_output

        return hook

    handles = [
        module.register_forward_hook(count(name))
        for name, module in source.named_modules()
        if isinstance(module, nn.Conv1d | nn.Linear)
    ]
    with torch.no_grad():
        source(torch.randn(1, source.input_length))
    for handle in handles:
        handle.remove()
    return counts


def conv_throughput(source, repeats):
    """Best GMAC/s of CREPE-tiny's second convolution (its largest by work) on a batch of 32."""
    conv = source.convs[1]
    x = torch.randn(STEP_BATCH, conv.in_channels, 128)
    with torch.no_grad():
        conv(F.pad(x, (31, 32)))
        best = min(_timed(lambda: conv(F.pad(x, (31, 32)))) for _ in range(repeats))
    macs = STEP_BATCH * conv.out_channels * conv.in_channels * conv.kernel_size[0] * 128
    return macs / best / 1e9


def _timed(function):
    """CPU seconds of one call (with one torch thread, its work; not other jobs' delays)."""
    started = time.process_time()
    function()
    return time.process_time() - started


def compute_floor(repeats):
    """Multiply-adds per series per epoch on each path and the machine's conv throughput."""
    source = CrepeSource("tiny")
    per_layer = multiply_adds_per_frame(source)
    forward = sum(per_layer.values())
    first = per_layer["convs.0"]
    # Weights are frozen: the backward pass computes input gradients only,
    # as many multiply-adds as the forward pass. The amortised path skips the
    # first layer both ways (its program part is once per batch, not per series).
    return {
        "forward_macs_per_frame": forward,
        "first_layer_macs_per_frame": first,
        "plain_macs_per_series_step": 2 * forward,
        "amortised_macs_per_series_step": 2 * (forward - first),
        "conv_gmacs_per_second": round(conv_throughput(source, repeats), 2),
    }


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ------------------------------------------------------------------ curves
CURVE_EPOCHS = 5
CURVE_SIZES = (50, 200, 1000)
CURVE_LENGTHS = (100, 1000, 10000)
CURVE_PREDICT = {"v2s": (20_000, 100_000), "minirocket": (5_000, 20_000), "dtw": (500,)}
WORKER = Path(__file__).resolve().parent / "predict_memory_worker.py"
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "performance_curves.png"


def gunpoint_like(n, seed=0):
    """``n`` GunPoint series and labels: its 200 train and test series, repeated with noise (sd 0.01) beyond 200."""
    X_train, y_train = load_ucr("GunPoint", "train")
    X_test, y_test = load_ucr("GunPoint", "test")
    X, y = np.concatenate([X_train, X_test]), np.concatenate([y_train, y_test])
    index = np.arange(n) % len(X)
    noise = np.random.default_rng(seed).normal(0.0, 0.01, (n, X.shape[1]))
    return X[index] + noise * (np.arange(n) >= len(X))[:, None], y[index]


def stretched(X, length):
    """Series linearly interpolated to ``length`` points."""
    old, new = np.linspace(0, 1, X.shape[1]), np.linspace(0, 1, length)
    return np.stack([np.interp(new, old, row) for row in X])


def curve_method(name):
    """A fresh estimator: V2S (``max_epochs=CURVE_EPOCHS``, ``resample="auto"``), MiniRocket or 1-NN DTW."""
    if name == "v2s":
        return V2SClassifier(random_state=0, max_epochs=CURVE_EPOCHS, resample="auto")
    if name == "minirocket":
        from aeon.classification.convolution_based import MiniRocketClassifier

        return MiniRocketClassifier(random_state=0, n_jobs=1)
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    return KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw", n_jobs=1)


def timed_fit_predict(name, X, y, X_test):
    """CPU seconds of ``fit`` on ``(X, y)`` and of ``predict`` per series of ``X_test``."""
    method = curve_method(name)
    cpu = time.process_time()
    method.fit(X, y)
    fit = time.process_time() - cpu
    cpu = time.process_time()
    method.predict(X_test)
    predict = time.process_time() - cpu
    row = {
        "method": name,
        "fit_cpu_seconds": round(fit, 3),
        "predict_cpu_ms_per_series": round(1e3 * predict / len(X_test), 3),
        "n_predicted": len(X_test),
    }
    if name == "v2s":
        row["epochs"] = len(method.history_)
        row["fit_cpu_seconds_per_epoch"] = round(fit / len(method.history_), 3)
    return row


def dtw_subsample(n_train, length):
    """Test series for 1-NN DTW: about 2e9 DTW cells in all (full window: n_train * length**2 per series)."""
    return int(np.clip(2e9 / (n_train * length**2), 1, 50))


def size_curve():
    """Fit time against the number of training series (GunPoint length)."""
    X_test, _ = gunpoint_like(50, seed=1)
    rows = []
    for n in CURVE_SIZES:
        X, y = gunpoint_like(n)
        for name in ("v2s", "minirocket", "dtw"):
            test = X_test[: dtw_subsample(n, X.shape[1])] if name == "dtw" else X_test
            rows.append({"n_train": n, "length": X.shape[1], **timed_fit_predict(name, X, y, test)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def length_curve():
    """Fit time against series length (GunPoint's 50 training series stretched)."""
    X_train, y_train = load_ucr("GunPoint", "train")
    X_test, _ = load_ucr("GunPoint", "test")
    rows = []
    for length in CURVE_LENGTHS:
        X, test = stretched(X_train, length), stretched(X_test[:50], length)
        for name in ("v2s", "minirocket", "dtw"):
            subset = test[: dtw_subsample(len(X), length)] if name == "dtw" else test
            rows.append({"n_train": len(X), "length": length, **timed_fit_predict(name, X, y_train, subset)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def predict_memory(pythonpath):
    """Predict CPU time and peak memory, one fresh process per (method, number of series)."""
    rows = []
    for name, sizes in CURVE_PREDICT.items():
        for n in sizes:
            env = {**os.environ, "PYTHONPATH": str(pythonpath), "OMP_NUM_THREADS": "1"}
            done = subprocess.run(
                [sys.executable, str(WORKER), name, str(n)], env=env, capture_output=True, text=True, check=True
            )
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def warm_up():
    """Compile numba kernels and load weights before anything is timed."""
    X, y = gunpoint_like(10)
    for name in ("minirocket", "dtw"):
        curve_method(name).fit(X, y).predict(X[:2])
    V2SClassifier(random_state=0, max_epochs=1).fit(X, y).predict(X[:2])


def plot_curves(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"v2s": "V2S (CREPE-tiny)", "minirocket": "MiniRocket", "dtw": "1-NN DTW"}
    figure, axes = plt.subplots(1, 4, figsize=(17, 4))
    for axis, (key, x_key, title) in zip(
        axes[:2],
        (
            ("size", "n_train", "training series (length 150)"),
            ("length", "length", "series length (50 training series)"),
        ),
    ):
        for name, label in labels.items():
            rows = [row for row in report[key] if row["method"] == name]
            if name == "dtw":  # fit only stores the series: plot the prediction cost
                axis.plot(
                    [r[x_key] for r in rows],
                    [r["predict_cpu_ms_per_series"] / 1e3 for r in rows],
                    "o--",
                    label="1-NN DTW: predict, s per series",
                )
            else:
                axis.plot(
                    [r[x_key] for r in rows], [r["fit_cpu_seconds"] for r in rows], "o-", label=f"{label}: fit, s"
                )
        axis.set(xscale="log", yscale="log", xlabel=title, ylabel="CPU seconds (1 thread)")
        axis.legend(fontsize=7)
    axis = axes[1]
    axis.set_title(f"V2S: {CURVE_EPOCHS} epochs; 10000 resampled to 1024", fontsize=8)
    axes[0].set_title(f"V2S: {CURVE_EPOCHS} epochs", fontsize=8)
    rows = report["predict"]
    short = {"v2s": "V2S", "minirocket": "MiniRocket", "dtw": "1-NN DTW"}
    names = [f"{short[r['method']]}\n{r['n_series']:,}" for r in rows]
    axes[2].bar(names, [r["series_per_cpu_second"] for r in rows], color="tab:blue")
    axes[2].set(yscale="log", ylabel="series per CPU second", title="predict throughput (length 150)")
    axes[3].bar(
        names,
        [r["peak_beyond_before_mb"] for r in rows],
        color="tab:orange",
        label="peak during predict beyond the size before it",
    )
    axes[3].bar(
        names,
        [r["input_mb"] for r in rows],
        bottom=[r["peak_beyond_before_mb"] for r in rows],
        color="tab:gray",
        label="input (float64)",
    )
    axes[3].set(ylabel="MB", title="predict memory (fresh process)")
    axes[3].legend(fontsize=7)
    for axis in axes[2:]:
        axis.tick_params(axis="x", labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def curves(args):
    """``--curves``: fit time against size and length, predict throughput and memory, beside MiniRocket and DTW."""
    load_before = os.getloadavg()
    started = time.process_time()
    warm_up()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {
            "nproc": os.cpu_count(),
            "available_cores": available_cores(),
            "cpu_model": cpu_model(),
            "load_average_before": [round(value, 2) for value in load_before],
        },
        "torch": torch.__version__,
        "voice2series": voice2series.__version__,
        "threads": torch.get_num_threads(),
        "v2s": f"V2SClassifier(random_state=0, max_epochs={CURVE_EPOCHS}, resample='auto'): CREPE-tiny, "
        "amortised first layer and frozen convolutions' custom backward; early stopping (validation "
        "split) from 200 series on",
        "minirocket": "aeon MiniRocketClassifier(random_state=0, n_jobs=1)",
        "dtw": "aeon KNeighborsTimeSeriesClassifier(n_neighbors=1, distance='dtw', n_jobs=1), full window; "
        "predicted on a subsample of about 2e9 DTW cells",
        "size": size_curve(),
        "length": length_curve(),
        "predict_code": str(args.predict_pythonpath),
        "predict": predict_memory(args.predict_pythonpath),
        "notes": args.notes,
    }
    report["machine"]["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    report["parent_cpu_seconds"] = round(time.process_time() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "performance_curves.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    plot_curves(report, FIGURE)
    print(f"written to {out} and {FIGURE}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="GunPoint,ArrowHead,PigCVP")
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument("--repeats", type=int, default=15, help="step micro-benchmark repeats")
    parser.add_argument("--spread-dataset", default="ArrowHead", help="dataset of the rounding control ('' to skip)")
    parser.add_argument("--notes", default="")
    parser.add_argument(
        "--curves",
        action="store_true",
        help="scaling curves instead: writes results/performance_curves.json and docs/performance_curves.png",
    )
    parser.add_argument(
        "--predict-pythonpath",
        default=str(Path(__file__).resolve().parents[1]),
        help="checkout of voice2series the --curves prediction processes import",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.curves:
        curves(args)
        return
    load_before = os.getloadavg()

    floor = compute_floor(args.repeats)
    steps = step_times(args.repeats)
    layers = layer_times(args.repeats)
    print(json.dumps({"step_seconds": steps, **floor, "layers": layers}), flush=True)
    rows = []
    for dataset in args.datasets.split(","):
        fits = {
            name: fit_and_score(dataset, amortise, custom_backward=custom) for name, (amortise, custom) in PATHS.items()
        }
        old = fits["plain_old"]
        rows.append(
            {
                "dataset": dataset,
                **fits,
                # Ratios against plain_old, the code before both changes.
                "cpu_ratio": {name: round(fits[name]["fit_cpu_seconds"] / old["fit_cpu_seconds"], 3) for name in PATHS},
                "wall_ratio": {
                    name: round(fits[name]["fit_wall_seconds"] / old["fit_wall_seconds"], 3) for name in PATHS
                },
                "amortised_over_plain_cpu": round(
                    fits["amortised"]["fit_cpu_seconds"] / fits["plain"]["fit_cpu_seconds"], 3
                ),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    spread = {}
    if args.spread_dataset:
        spread = {
            "dataset": args.spread_dataset,
            "plain_accuracy_with_amplitude": {
                str(amplitude): fit_and_score(args.spread_dataset, False, amplitude)["accuracy"]
                for amplitude in (1 + 1e-6, 1 - 1e-6)
            },
        }
        print(json.dumps(spread), flush=True)

    gmacs = floor["conv_gmacs_per_second"] * 1e9
    for row in rows:
        n_train = row["plain_old"]["n_train"]
        row["floor_cpu_seconds_per_epoch"] = {
            "plain": round(n_train * floor["plain_macs_per_series_step"] / gmacs, 3),
            "amortised": round(n_train * floor["amortised_macs_per_series_step"] / gmacs, 3),
        }
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {
            "nproc": os.cpu_count(),
            "available_cores": available_cores(),
            "cpu_model": cpu_model(),
            "load_average_before": [round(value, 2) for value in load_before],
            "load_average_after": [round(value, 2) for value in os.getloadavg()],
        },
        "torch": torch.__version__,
        "voice2series": voice2series.__version__,
        "threads": torch.get_num_threads(),
        "classifier": "V2SClassifier(random_state=0), resample='fit' where series exceed 1024 samples",
        "step_cpu_seconds_batch_32": {
            **steps,
            "ratio_to_plain_old": {name: round(value / steps["plain_old"], 3) for name, value in steps.items()},
        },
        "compute_floor": floor,
        "layer_ms_batch_32": layers,
        "results": rows,
        "rounding_spread": spread,
        "notes": args.notes,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "performance.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(
        "\n| dataset | train series | epochs | plain-old fit CPU s | plain fit CPU s | amortised fit CPU s "
        "| ratios to plain-old (wall) | amortised / plain | accuracies (plain-old, plain, amortised) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        old, plain, amortised = row["plain_old"], row["plain"], row["amortised"]
        ratios = ", ".join(f"{row['cpu_ratio'][n]:.2f} ({row['wall_ratio'][n]:.2f})" for n in ("plain", "amortised"))
        print(
            f"| {row['dataset']} | {old['n_train']} | {old['epochs']} | {old['fit_cpu_seconds']:.1f} | "
            f"{plain['fit_cpu_seconds']:.1f} | {amortised['fit_cpu_seconds']:.1f} | {ratios} | "
            f"{row['amortised_over_plain_cpu']:.2f} | "
            f"{old['accuracy']:.3f}, {plain['accuracy']:.3f}, {amortised['accuracy']:.3f} |"
        )
    print(
        f"\nstep (batch {STEP_BATCH}), ms: "
        + ", ".join(f"{name} {value * 1e3:.0f}" for name, value in steps.items())
        + f"; written to {out}"
    )


if __name__ == "__main__":
    main()
