"""stochflow-rl's neural value functions under `torchrun --nproc_per_node=2` (gloo on CPU).

Every rank draws the same global batch of paths and trains on its share, and the per-rank losses
are scaled so that DDP's gradient average is the single-process gradient: two ranks follow the
single-process run step by step (up to summation order). A checkpoint written by the two ranks
resumes in one process and ends where the uninterrupted single-process run ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

JOB = Path(__file__).with_name("_rl_job.py")
FIRST, TOTAL = 100, 200
NAMES = ("ml", "td", "ergodic")


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


@pytest.mark.slow
def test_neural_values_under_two_ranks_match_one_and_resume_in_one(tmp_path, launch):
    single = launch(JOB, [TOTAL, tmp_path / "single"])
    double = launch(JOB, [FIRST, tmp_path / "double"], 2)
    assert single["world"] == 1 and double["world"] == 2
    for name in NAMES:
        s, d = single[name], double[name]
        assert d["step"] == FIRST and len(d["losses"]) == FIRST
        # the two ranks' global losses are the single-process ones, step by step
        assert d["losses"] == pytest.approx(s["losses"][:FIRST], rel=1e-9, abs=1e-12), name
    ml = double["ml"]["losses"]
    assert _mean(ml[-10:]) < 0.5 * _mean(ml[:10]), "the martingale loss did not decrease under DDP"
    assert double["ergodic"]["rho"] > 0
    resumed = launch(JOB, [TOTAL, tmp_path / "double"])
    assert resumed["world"] == 1
    for name in NAMES:
        s, r = single[name], resumed[name]
        assert r["step"] == TOTAL and len(r["losses"]) == TOTAL  # the history goes on from the checkpoint
        assert r["losses"] == pytest.approx(s["losses"], rel=1e-9, abs=1e-12), name
        assert r["params"] == pytest.approx(s["params"], rel=1e-8, abs=1e-10), name
        assert r["value"] == pytest.approx(s["value"], rel=1e-8, abs=1e-10), name
    assert resumed["ergodic"]["rho"] == pytest.approx(single["ergodic"]["rho"], rel=1e-8)
    # the trained martingale-loss network is a value function of the right size
    err = max(abs(v - t) for v, t in zip(single["ml"]["value"], single["truth"])) / max(single["truth"])
    assert err < 0.25, err
