"""Each package trainer under `torchrun --nproc_per_node=2` (gloo on CPU): the loss decreases, and the
checkpoint written by the two ranks resumes in a single process, which goes on from the step where
the two ranks stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

JOB = Path(__file__).with_name("_trainer_job.py")


def _run(trainer: str, iterations: int, ckpt: Path, nproc: int | None) -> dict:
    head = [sys.executable] if nproc is None else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    out = subprocess.run([*head, str(JOB), trainer, str(iterations), str(ckpt)], capture_output=True, text=True,
                         timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1", "STOCHFLOW_QUIET": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    return json.loads(line)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


@pytest.mark.slow
@pytest.mark.parametrize("trainer,first,second,keeps_history", [("diffusion", 150, 200, False),
                                                                ("xva", 200, 400, True),
                                                                ("graph", 100, 140, True)])
def test_trainer_under_two_ranks_then_resumed_in_one(tmp_path, trainer, first, second, keeps_history):
    ckpt = tmp_path / f"{trainer}.pt"
    double = _run(trainer, first, ckpt, 2)
    assert double["world"] == 2
    assert double["step"] == first
    losses = double["losses"]
    assert _mean(losses[-20:]) < 0.7 * _mean(losses[:20]), "the loss did not decrease under DDP"
    resumed = _run(trainer, second, ckpt, None)
    assert resumed["world"] == 1
    assert resumed["step"] == second
    # only the remaining steps ran (a trainer that keeps its loss history reports all of it)
    assert len(resumed["losses"]) == (second if keeps_history else second - first)
    new = resumed["losses"][-(second - first):]
    assert _mean(new) < 1.2 * _mean(losses[-20:]), "the resumed run started over instead of going on"
    if trainer == "xva":  # the deep BSDE's Y0 is the Black–Scholes price once trained
        assert resumed["y0"] == pytest.approx(resumed["exact"], rel=0.03)
