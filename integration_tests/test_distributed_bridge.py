"""stochflow-bridge's drift-reference refit under `torchrun --nproc_per_node=2` (gloo on CPU).

Each rank refits the neural drift on its share of the coupled pairs, DDP all-reduces the gradients
and L-BFGS sees the same global loss and gradient on every rank: two ranks follow the single-process
refinement up to summation order and keep equal replicas. A checkpoint written by the two ranks after
one refinement iteration resumes in one process and ends where the uninterrupted run ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

JOB = Path(__file__).with_name("_bridge_job.py")
FIRST, TOTAL = 1, 2


@pytest.mark.slow
def test_drift_refit_under_two_ranks_matches_one_and_resumes_in_one(tmp_path, launch):
    single = launch(JOB, [TOTAL, tmp_path / "single.pt"])
    double = launch(JOB, [FIRST, tmp_path / "double.pt"], 2)
    assert single["world"] == 1 and double["world"] == 2
    s, d = single["history"], double["history"]
    assert len(s) == TOTAL + 1 and len(d) == FIRST + 1
    for key in ("objective", "nll", "change"):   # the first refinement iteration, refit on 2 ranks
        assert d[0][key] == pytest.approx(s[0][key], rel=1e-9), key
    assert d[1]["objective"] == pytest.approx(s[1]["objective"], rel=1e-9)   # bridges of the refit reference
    assert double["spread"] == 0.0          # the two replicas hold the same drift
    assert double["next"] == FIRST          # the checkpoint holds the next iteration
    objective = [h["objective"] for h in s]
    assert objective[-1] < objective[0] - 1.0 and all(b <= a for a, b in zip(objective, objective[1:]))
    resumed = launch(JOB, [TOTAL, tmp_path / "double.pt"])
    assert resumed["world"] == 1 and resumed["next"] == TOTAL
    r = resumed["history"]
    assert len(r) == TOTAL + 1                # the history goes on from the checkpoint
    for hs, hr in zip(s, r):
        for key in ("objective", "nll", "change"):
            if key in hs:
                assert hr[key] == pytest.approx(hs[key], rel=1e-9), key
    assert resumed["params"] == pytest.approx(single["params"], rel=1e-8, abs=1e-10)
