"""The deep BSDE solver under torchrun (2 CPU ranks, gloo); its checkpoint resumes single-process."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

JOB = Path(__file__).with_name("_ddp_job.py")


def _run(args, nproc=None):
    cmd = [sys.executable, str(JOB), *args] if nproc is None else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", str(JOB), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "STOCHFLOW_QUIET": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    return json.loads(line)


@pytest.mark.slow
def test_torchrun_two_ranks_trains_and_resumes(tmp_path):
    ck = tmp_path / "ck.pt"
    two = _run(["train", str(ck), "20"], nproc=2)
    assert two["world"] == 2 and two["distributed"] and two["iterations"] == 20
    assert math.isfinite(two["y0"])
    assert torch.load(ck, weights_only=False)["iteration"] == 20
    one = _run(["resume", str(ck), "30"])
    assert one["world"] == 1 and one["iterations"] == 30
    assert one["losses"][:20] == two["losses"]  # the history carries over
