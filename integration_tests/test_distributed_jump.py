"""stochflow-jump under `torchrun --nproc_per_node=2` (gloo on CPU): sharded Gillespie Monte Carlo
equals the single-process estimate for the same global seed, the amortised network's pretraining
decreases the loss with the replicas kept equal by DDP, and its 2-rank checkpoint resumes in one
process from the step where the two ranks stopped."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

JOB = Path(__file__).with_name("_jump_job.py")


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


@pytest.mark.slow
def test_jump_pretraining_and_gillespie_monte_carlo_on_two_ranks_then_one(tmp_path, launch):
    ckpt = tmp_path / "amortized.pt"
    double = launch(JOB, [ckpt, 40], nproc=2)
    assert double["world"] == 2 and double["step"] == 40 and len(double["history"]) == 40
    # DDP: every rank drew its own batches, yet the replicas are equal
    assert double["checksums"][0] == double["checksums"][1]
    loss = double["history"]
    assert _mean(loss[-10:]) < _mean(loss[:10]) - 0.2, "the pretraining loss did not decrease under DDP"

    single = launch(JOB, [ckpt, 60])
    assert single["world"] == 1
    # Sharded Gillespie Monte Carlo: the same paths on 1 or 2 ranks (integer counts: equal exactly) ...
    assert single["law"] == pytest.approx(double["law"], rel=1e-12)
    # ... and right: the law of X_T is p0 expm(QT), within 4 standard errors per state.
    for p_hat, p in zip(single["law"], single["exact"]):
        assert abs(p_hat - p) < 4 * math.sqrt(p * (1 - p) / single["n_paths"])
    # The 2-rank checkpoint resumed in one process: the history goes on where the ranks stopped ...
    assert single["step"] == 60 and len(single["history"]) == 60
    assert single["history"][:40] == loss
    # ... from the trained weights, not from scratch.
    new = single["history"][40:]
    assert _mean(new[:5]) < _mean(loss[:5]) - 0.2
    assert _mean(new) < _mean(loss[-10:]) + 0.15
