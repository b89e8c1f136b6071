"""How many CPU cores this process may use, for choosing torch thread counts."""

from __future__ import annotations

import os

__all__ = ["available_cores"]


def available_cores():
    """Number of cores this process may run on.

    The CPU affinity mask (``os.sched_getaffinity``), which a container, a
    batch scheduler or ``taskset`` may set well below the machine's core
    count; where the platform has no affinity (macOS, Windows), the number
    of logical cores.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> from voice2series.threads import available_cores
    >>> available_cores() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
