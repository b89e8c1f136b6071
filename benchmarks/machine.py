"""What machine and moment a benchmark number comes from (imported by the scripts here)."""

import os
import platform
from datetime import datetime, timezone

import torch

import voice2series


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, else the platform's processor string."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe():
    """Date, CPU, usable cores, load at the start, and versions, as a JSON-ready dict.

    The load average says whether other jobs shared the cores: timings taken
    under load are upper bounds.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.now(timezone.utc).date().isoformat(),
        "cpu": cpu_model(),
        "cores": cores,
        "load_average_1min_at_start": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "voice2series": voice2series.__version__,
    }
