"""Run work units in this process, in local processes, or on a Dask cluster.

One seam for every engine, after sktime's ``parallelize(fun, iter, meta,
backend, backend_params)`` (``sktime/utils/parallel.py``): the caller passes a
function, the items and shared ``meta``; ``backend`` names the engine and
``backend_params`` its options. Unlike sktime's, :func:`parallelize` is a
generator that yields each result as soon as it is done, in completion order, so
that the caller can record it at once (the benchmark driver appends one CSV row
per finished unit and stays the only writer of its results file).

Backends
--------
``"none"``
    A loop in this process.
``"loky"``
    joblib's process pool on this machine; ``backend_params``: ``n_jobs``.
``"dask"``
    A ``distributed`` cluster (extra ``voice2series[cluster]``);
    ``backend_params``: ``scheduler`` (an address such as
    ``"tcp://10.0.0.5:8786"``; when absent a ``LocalCluster`` is started on this
    machine with ``n_jobs`` worker processes and ``threads_per_worker`` threads
    each). Each item travels to its worker with the task, so workers never need
    this machine's files. A worker that dies mid-task is replaced and its task
    runs again elsewhere (``distributed`` retries a task up to
    ``distributed.scheduler.allowed-failures`` times, default 3).
"""

from __future__ import annotations

import os

__all__ = ["BACKENDS", "parallelize", "worker_threads"]

BACKENDS = ("none", "loky", "dask")


def parallelize(fun, iter, meta=None, backend="none", backend_params=None):  # noqa: A002 (sktime's name)
    """Yield ``fun(item, meta)`` for every item, as each finishes.

    Parameters
    ----------
    fun : callable
        ``fun(item, meta)``; must be picklable (a module-level function) for the
        process backends.
    iter : iterable
        The items.
    meta : object, optional
        Passed to every call.
    backend : {"none", "loky", "dask"}, default="none"
    backend_params : dict, optional
        ``n_jobs`` (loky, and the local cluster of dask), ``scheduler`` and
        ``threads_per_worker`` (dask).

    Yields
    ------
    object
        The results, in completion order (``"none"``: in item order).

    Examples
    --------
    >>> sorted(parallelize(lambda x, meta: x * meta, [1, 2, 3], meta=10))
    [10, 20, 30]
    """
    params = dict(backend_params or {})
    if backend == "none":
        for item in iter:
            yield fun(item, meta)
    elif backend == "loky":
        from joblib import Parallel, delayed

        jobs = (delayed(fun)(item, meta) for item in iter)
        yield from Parallel(n_jobs=params.get("n_jobs", -1), return_as="generator_unordered")(jobs)
    elif backend == "dask":
        yield from _parallelize_dask(fun, iter, meta, params)
    else:
        raise ValueError(f"Unknown backend {backend!r}; use one of {list(BACKENDS)}.")


def _parallelize_dask(fun, items, meta, params):
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as error:
        raise ValueError(
            "backend 'dask' needs the distributed package: pip install 'voice2series[cluster]'."
        ) from error
    cluster = None
    scheduler = params.get("scheduler")
    if scheduler:
        client = Client(scheduler, timeout=params.get("timeout", "30s"))
    else:
        cluster = LocalCluster(
            n_workers=max(1, int(params.get("n_jobs", 1))),
            threads_per_worker=max(1, int(params.get("threads_per_worker", 1))),
            processes=True,
            dashboard_address=params.get("dashboard_address", None),
        )
        client = Client(cluster)
    futures = []
    try:
        # pure=False: two equal items are two runs (never merged by dask's hashing);
        # priority keeps the caller's order (longest first) when workers are scarce.
        futures = [client.submit(fun, item, meta, pure=False, priority=-i) for i, item in enumerate(items)]
        for future in as_completed(futures):
            yield future.result()
    finally:
        # Interrupted (or done): no task of this run keeps a worker busy.
        client.cancel([f for f in futures if not f.done()])
        client.close()
        if cluster is not None:
            cluster.close()


def worker_threads(default=None):
    """The threads this task may use: its Dask worker's ``nthreads``, else ``default``.

    Parameters
    ----------
    default : int, optional
        Used outside a Dask worker; ``None`` means the cores this process may run on.

    Returns
    -------
    int
    """
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        pass
    if default is not None:
        return int(default)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
