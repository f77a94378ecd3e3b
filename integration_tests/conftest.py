"""Shared by the integration tests that launch job scripts under ``torchrun``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def launch_job(script: Path, args: list[str], nproc: int | None = None, env: dict[str, str] | None = None) -> dict:
    """Run ``script`` with ``python`` (``nproc=None``) or ``torchrun --standalone --nproc_per_node=nproc``
    and return the one JSON line that its rank 0 prints."""
    head = [sys.executable] if nproc is None else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    out = subprocess.run([*head, str(script), *map(str, args)], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "STOCHFLOW_QUIET": "1", **(env or {})})
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    return json.loads(line)


@pytest.fixture
def launch() -> Callable[..., dict]:
    """:func:`launch_job` as a fixture: ``launch(script, args, nproc=None, env=None)``."""
    return launch_job
