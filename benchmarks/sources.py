"""Source zoo: forward+backward time per source, and GunPoint accuracy per offline source.

Speed: seconds for one forward + backward (to the input waveform) of a batch of
32 random waveforms at the source's default input length; best of
``--repeats`` after one warm-up pass.

Accuracy: ``V2SClassifier(source=name, max_epochs=...)`` on GunPoint's official
split and ``segments`` (default settings otherwise, so no validation split at 50
training series), one fit per seed, test split scored once per fit.

Usage:
    python benchmarks/sources.py [--sources crepe-tiny speech-embedding]
        [--seeds 0 1 2] [--max-epochs 100] [--speed-only]
Writes benchmarks/results/sources.json and prints a markdown table.
"""

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import voice2series
from voice2series import V2SClassifier
from voice2series.datasets import load_ucr
from voice2series.sources import available, get_source

RESULTS = Path(__file__).resolve().parent / "results"


def forward_backward_seconds(name, batch_size=32, repeats=3):
    """Best time of forward + backward to the input for one batch."""
    source = get_source(name)
    generator = torch.Generator().manual_seed(0)
    timings = []
    for _ in range(repeats + 1):  # the first pass warms up allocators and kernels
        waveform = (0.1 * torch.randn(batch_size, source.input_length, generator=generator)).requires_grad_(True)
        started = time.perf_counter()
        source(waveform).sum().backward()
        timings.append(time.perf_counter() - started)
    return min(timings[1:]), source.input_length


def gunpoint_runs(name, seeds, max_epochs, segments=1):
    X_train, y_train = load_ucr("GunPoint", "train")
    X_test, y_test = load_ucr("GunPoint", "test")
    runs = []
    for seed in seeds:
        clf = V2SClassifier(source=name, max_epochs=max_epochs, segments=segments, random_state=seed)
        started = time.perf_counter()
        clf.fit(X_train, y_train)
        runs.append(
            {
                "seed": seed,
                "accuracy": float(clf.score(X_test, y_test)),
                "fit_seconds": time.perf_counter() - started,
            }
        )
        print(f"  {name} seed {seed}: {runs[-1]}", flush=True)
    return runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", nargs="+", default=None, help="default: every offline source")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--segments",
        type=int,
        default=1,
        help="series copies per waveform; a 150-point series is 1%% of a 16000-sample input",
    )
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads; 1 avoids LSTM stalls when other jobs share the cores",
    )
    parser.add_argument("--output", default=str(RESULTS / "sources.json"))
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    table = available()
    names = args.sources or [n for n in table.index if table.loc[n, "offline"]]
    results = []
    for name in names:
        seconds, length = forward_backward_seconds(name, repeats=args.repeats)
        row = {"source": name, "input_length": length, "fwd_bwd_batch32_s": seconds}
        print(f"{name}: forward+backward, batch 32 x {length}: {seconds:.3f} s", flush=True)
        if not args.speed_only:
            runs = gunpoint_runs(name, args.seeds, args.max_epochs, args.segments)
            accuracies = [r["accuracy"] for r in runs]
            row.update(
                {
                    "gunpoint_runs": runs,
                    "gunpoint_accuracy_mean": float(np.mean(accuracies)),
                    "gunpoint_accuracy_std": float(np.std(accuracies)),
                    "fit_seconds_mean": float(np.mean([r["fit_seconds"] for r in runs])),
                }
            )
        results.append(row)

    report = {
        "voice2series": voice2series.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.platform(),
        "max_epochs": args.max_epochs,
        "segments": args.segments,
        "seeds": args.seeds,
        "results": results,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2))
    print("\n| source | input length | fwd+bwd batch 32 (s) | GunPoint accuracy | fit (s) |")
    print("|---|---|---|---|---|")
    for row in results:
        accuracy = (
            f"{row['gunpoint_accuracy_mean']:.3f} ± {row['gunpoint_accuracy_std']:.3f}"
            if "gunpoint_runs" in row
            else "-"
        )
        fit = f"{row['fit_seconds_mean']:.0f}" if "gunpoint_runs" in row else "-"
        print(f"| {row['source']} | {row['input_length']} | {row['fwd_bwd_batch32_s']:.3f} | {accuracy} | {fit} |")


if __name__ == "__main__":
    main()
