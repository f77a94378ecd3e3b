"""Each package trainer under `torchrun --nproc_per_node=2` (gloo on CPU): the loss decreases, and the
checkpoint written by the two ranks resumes in a single process, which goes on from the step where
the two ranks stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

JOB = Path(__file__).with_name("_trainer_job.py")


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


@pytest.mark.slow
@pytest.mark.parametrize("trainer,first,second,keeps_history", [("diffusion", 150, 200, False),
                                                                ("xva", 200, 400, True),
                                                                ("graph", 100, 140, True)])
def test_trainer_under_two_ranks_then_resumed_in_one(tmp_path, launch, trainer, first, second, keeps_history):
    ckpt = tmp_path / f"{trainer}.pt"
    double = launch(JOB, [trainer, first, ckpt], 2)
    assert double["world"] == 2
    assert double["step"] == first
    losses = double["losses"]
    assert _mean(losses[-20:]) < 0.7 * _mean(losses[:20]), "the loss did not decrease under DDP"
    resumed = launch(JOB, [trainer, second, ckpt])
    assert resumed["world"] == 1
    assert resumed["step"] == second
    # only the remaining steps ran (a trainer that keeps its loss history reports all of it)
    assert len(resumed["losses"]) == (second if keeps_history else second - first)
    new = resumed["losses"][-(second - first):]
    assert _mean(new) < 1.2 * _mean(losses[-20:]), "the resumed run started over instead of going on"
    if trainer == "xva":  # the deep BSDE's Y0 is the Black–Scholes price once trained
        assert resumed["y0"] == pytest.approx(resumed["exact"], rel=0.03)
