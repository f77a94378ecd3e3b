"""torchrun with 2 CPU processes (gloo): sharded Monte Carlo equals the single-process result for
the same global seed, DDP training decreases the loss, and a checkpoint written under 2 ranks
resumes under 1."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

JOB = Path(__file__).with_name("_dist_job.py")


def _run(args: list[str], nproc: int | None) -> dict:
    if nproc is None:
        cmd = [sys.executable, str(JOB), *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               str(JOB), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    return json.loads(line)


@pytest.mark.slow
def test_torchrun_two_ranks_matches_single_process_and_resumes(tmp_path):
    single = _run(["single", "-", str(tmp_path / "single.pt")], None)
    double = _run(["ddp", "-", str(tmp_path / "ddp.pt")], 2)
    assert single["world"] == 1 and not single["distributed"]
    assert double["world"] == 2 and double["distributed"]
    # Sharded Monte Carlo: the same paths on 1 or 2 ranks, so equal up to summation order ...
    assert double["mean"] == pytest.approx(single["mean"], rel=1e-12)
    assert double["second"] == pytest.approx(single["second"], rel=1e-12)
    # ... and the estimate is right: E[Y_T] = e^{mu T}, within 4 standard errors.
    se = math.sqrt((single["second"] - single["mean"] ** 2) / 50_000)
    assert abs(single["mean"] - single["exact_mean"]) < 4 * se
    # DDP training decreases the loss.
    assert double["losses"][-1] < 0.1 * double["losses"][0]
    # A checkpoint written under 2 ranks resumes under 1 and training goes on from where it stopped.
    state = torch.load(tmp_path / "ddp.pt", weights_only=False)
    assert state["step"] == 30
    resumed = _run(["resume", str(tmp_path / "ddp.pt"), str(tmp_path / "resumed.pt")], None)
    assert torch.load(tmp_path / "resumed.pt", weights_only=False)["step"] == 60
    assert resumed["losses"][0] < 0.5 * double["losses"][0]
    assert resumed["losses"][-1] <= resumed["losses"][0] * 1.5
