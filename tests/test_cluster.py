"""The benchmark on a Dask cluster: same rows as local processes, a lost worker, an interrupted driver."""

import os
import signal
import sys

import pytest

from voice2series import benchmark
from voice2series.benchmark import run_benchmark
from voice2series.cluster import parallelize, worker_threads

from .helpers import make_archive, read_csv

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
# Functions of this module travel to the workers by value (the workers need not import tests/).
cloudpickle.register_pickle_by_value(sys.modules[__name__])

FAST_V2S = {"max_epochs": 1, "batch_size": 64}
MARKER_ENV = "V2S_TEST_KILL_MARKER"


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


@pytest.fixture
def archive(tmp_path):
    make_archive(tmp_path, "SynthA")
    make_archive(tmp_path, "SynthB", seed=1)
    return tmp_path


def _args(archive, cluster=None, **extra):
    args = dict(
        methods="1nn-euclidean",
        seeds=1,
        ucr_root=archive,
        download=False,
        quiet=True,
        log=lambda line: None,
        resamples=2,
    )
    if cluster is not None:
        args.update(backend="dask", backend_params={"scheduler": cluster.scheduler_address})
    return {**args, **extra}


def _accuracies(rows):
    return {row["key"]: row["accuracy"] for row in rows}


@pytest.mark.slow
def test_dask_gives_the_rows_of_local_processes(archive, cluster, tmp_path):
    """V2S (1 epoch) and 1-NN ED, two resamples: same keys and accuracies on both engines."""
    args = _args(archive, methods="v2s,1nn-euclidean", v2s_params=FAST_V2S)
    local = run_benchmark("SynthA,SynthB", tmp_path / "local", n_jobs=2, **args)
    on_dask = run_benchmark(
        "SynthA,SynthB",
        tmp_path / "dask",
        **{**args, "backend": "dask", "backend_params": {"scheduler": cluster.scheduler_address}},
    )
    assert on_dask.n_new == local.n_new == 8
    assert _accuracies(on_dask.rows) == _accuracies(local.rows)
    rows = read_csv(on_dask.csv_path)
    assert len(rows) == 8 and {r["threads"] for r in rows} == {"1"}  # the worker's nthreads
    assert sum("stratified resample 1" in r["data_origin"] for r in rows) == 4


def _killing_work(item, meta=None):
    """The benchmark's unit, except that the first call kills its own worker process."""
    marker = os.environ[MARKER_ENV]
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return benchmark._work(item, meta)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_during_a_unit_loses_no_row(archive, tmp_path, monkeypatch):
    monkeypatch.setenv(MARKER_ENV, str(tmp_path / "killed-once"))  # before the workers start
    monkeypatch.setattr(benchmark, "_work", _killing_work)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        result = run_benchmark("SynthA,SynthB", tmp_path / "out", **_args(archive, local))
    assert (tmp_path / "killed-once").exists()
    rows = read_csv(result.csv_path)
    assert result.n_new == 4 and len(rows) == 4
    assert sorted(r["key"] for r in rows) == sorted({r["key"] for r in rows})  # each unit once


def test_interrupted_driver_resumes_only_missing_units(archive, cluster, tmp_path):
    def interrupt_after_first_row(line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_benchmark("SynthA,SynthB", tmp_path / "out", **_args(archive, cluster, log=interrupt_after_first_row))
    first = read_csv(tmp_path / "out" / "results.csv")
    assert len(first) == 1
    again = run_benchmark("SynthA,SynthB", tmp_path / "out", **_args(archive, cluster))
    assert (again.n_resumed, again.n_new) == (1, 3)
    rows = read_csv(again.csv_path)
    assert rows[0] == first[0] and len({r["key"] for r in rows}) == len(rows) == 4


def test_local_cluster_without_a_scheduler_address(archive, tmp_path):
    result = run_benchmark("SynthA", tmp_path / "out", n_jobs=2, **{**_args(archive), "backend": "dask"})
    assert result.n_new == 2 and all(r["threads"] == 1 for r in result.rows)


def test_parallelize_backends_agree():
    square = lambda x, meta: x * x + meta  # noqa: E731
    assert list(parallelize(square, [1, 2, 3], meta=1)) == [2, 5, 10]
    assert sorted(parallelize(square, [1, 2, 3], meta=1, backend="loky", backend_params={"n_jobs": 2})) == [2, 5, 10]
    with pytest.raises(ValueError, match="Unknown backend 'spark'"):
        list(parallelize(square, [1], backend="spark"))
    assert worker_threads(3) == 3  # outside a Dask worker


def test_bad_backend_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="Unknown backend 'ray'"):
        run_benchmark("GunPoint", tmp_path, backend="ray")
