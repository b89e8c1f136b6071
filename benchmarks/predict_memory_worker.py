"""One prediction in a fresh process: CPU time and peak memory beyond the input.

Run by ``benchmarks/performance.py --curves``, once per (method, number of
series), so that one run's peak does not hide another's. It fits the method
on GunPoint's training split, builds ``n`` GunPoint-length series (the test
split repeated, with a little noise), predicts two series (numba compiles
on first use), resets the process's peak resident
size (``/proc/self/clear_refs``), predicts, and prints one JSON line: the
resident size before ``predict`` (the input included), the peak during it
(``VmHWM``), and the prediction's CPU and wall seconds.

It imports nothing beyond the estimators' public API, so it also runs
against another checkout of voice2series (``PYTHONPATH``).

Usage: python benchmarks/predict_memory_worker.py {v2s,minirocket,dtw} N
"""

import gc
import json
import sys
import time
from pathlib import Path

import numpy as np


def memory_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def make_method(name):
    if name == "v2s":
        import torch

        from voice2series import V2SClassifier

        torch.set_num_threads(1)
        # Prediction cost does not depend on how well the program is trained.
        return V2SClassifier(random_state=0, max_epochs=2)
    if name == "minirocket":
        from aeon.classification.convolution_based import MiniRocketClassifier

        return MiniRocketClassifier(random_state=0, n_jobs=1)
    if name == "dtw":
        from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

        return KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw", n_jobs=1)
    raise ValueError(f"Unknown method {name!r}; use v2s, minirocket or dtw.")


def main():
    name, n = sys.argv[1], int(sys.argv[2])
    from voice2series.datasets import load_ucr

    X_train, y_train = load_ucr("GunPoint", "train")
    X_test, _ = load_ucr("GunPoint", "test")
    method = make_method(name).fit(np.asarray(X_train, dtype=float), y_train)
    method.predict(np.asarray(X_test[:2], dtype=float))  # compiles numba kernels (DTW's on first predict)
    rng = np.random.default_rng(0)
    X = np.asarray(X_test, dtype=float)[np.arange(n) % len(X_test)]
    X += rng.normal(0.0, 0.01, X.shape)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    before = memory_kb("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    predictions = method.predict(X)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert len(predictions) == n
    print(
        json.dumps(
            {
                "method": name,
                "n_series": n,
                "input_mb": round(X.nbytes / 2**20, 1),
                "rss_before_predict_mb": round(before / 1024, 1),
                "peak_rss_mb": round(memory_kb("VmHWM") / 1024, 1),
                "peak_beyond_before_mb": round((memory_kb("VmHWM") - before) / 1024, 1),
                "predict_cpu_seconds": round(cpu, 2),
                "predict_wall_seconds": round(wall, 2),
                "series_per_cpu_second": round(n / cpu, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
