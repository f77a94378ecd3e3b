"""torchrun with 2 CPU processes (gloo): sharded Monte Carlo (GBM paths by stochflow.sde, xVA
estimates) equals the single-process result for the same global seed, DDP training decreases the loss, and a checkpoint written under 2 ranks
resumes under 1."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from stochflow.core import distributed as D

JOB = Path(__file__).with_name("_dist_job.py")


@pytest.mark.slow
def test_torchrun_two_ranks_matches_single_process_and_resumes(tmp_path, launch):
    single = launch(JOB, ["single", "-", str(tmp_path / "single.pt")], None)
    double = launch(JOB, ["ddp", "-", str(tmp_path / "ddp.pt")], 2)
    assert single["world"] == 1 and not single["distributed"]
    assert double["world"] == 2 and double["distributed"]
    # Sharded Monte Carlo: the same paths on 1 or 2 ranks, so equal up to summation order ...
    assert double["mean"] == pytest.approx(single["mean"], rel=1e-12)
    assert double["second"] == pytest.approx(single["second"], rel=1e-12)
    # ... and the estimate is right: E[Y_T] = e^{mu T}, within 4 standard errors.
    se = math.sqrt((single["second"] - single["mean"] ** 2) / 50_000)
    assert abs(single["mean"] - single["exact_mean"]) < 4 * se
    # xVA Monte Carlo in blocks shared out over the ranks and gathered: exactly the one-process numbers.
    assert double["xva"] == single["xva"]
    cva, cva_se = single["xva"]["cva"]
    assert cva > 4 * cva_se > 0 and single["xva"]["cpty_default"] > 0.01  # defaults happen: not vacuous
    # DDP training decreases the loss.
    assert double["losses"][-1] < 0.1 * double["losses"][0]
    # A checkpoint written under 2 ranks resumes under 1 and training goes on from where it stopped.
    state = torch.load(tmp_path / "ddp.pt", weights_only=False)
    assert state["step"] == 30
    resumed = launch(JOB, ["resume", str(tmp_path / "ddp.pt"), str(tmp_path / "resumed.pt")], None)
    assert torch.load(tmp_path / "resumed.pt", weights_only=False)["step"] == 60
    assert resumed["losses"][0] < 0.5 * double["losses"][0]
    assert resumed["losses"][-1] <= resumed["losses"][0] * 1.5


def test_shutdown_outside_a_process_group_is_a_no_op():
    D.shutdown()
    assert not D.is_initialized() and D.world_size() == 1
