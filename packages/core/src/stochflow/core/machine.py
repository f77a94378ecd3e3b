"""One line describing the machine a benchmark ran on (for the ``docs/benchmarks/*.md`` pages)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(*distributions: str) -> str:
    """CPU, cores, OS, Python, the installed versions of ``distributions`` (e.g. ``"torch"``,
    ``"jax"``) and the load average when called, as one sentence fragment."""
    parts = [f"{cpu_model()}, {os.cpu_count()} logical cores", f"{platform.system()} {platform.release()}",
             f"Python {platform.python_version()}"]
    for dist in distributions:
        try:
            parts.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{dist} not installed")
    if hasattr(os, "getloadavg"):
        parts.append("load average at start " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    return ", ".join(parts)
