"""The float32 claims of docs/benchmarks/precision.md for the SDE solvers and entropic OT, measured
by benchmarks/precision.py at small sizes (one float64 Brownian path per solve, cast to float32)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from stochflow.core.testing import load_script

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "precision.py"
precision = load_script(SCRIPT, "stochflow_precision_bench")

pytest.importorskip("stochflow.sde")
DTS = (2.0**-4, 2.0**-8)
FLOOR = {"sra1": 5e-6, "rk4": 1e-6, "dopri5": 1e-6}  # methods whose float64 error falls below float32's floor


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("method", precision.SDE_METHODS)
def test_float32_rounding_of_each_sde_solver(method):
    errs = {dt: precision.sde_errors(method, dt, n_paths=100, lows=("float32",)) for dt in DTS}
    for dt, e in errs.items():
        assert 0 < e["float32"] < 5e-6, (dt, e)  # float32 rounding, relative to |Y_1|
        if method in FLOOR:
            assert e["float32"] < FLOOR[method], (dt, e)
        else:  # the page's "yes": rounding at most a tenth of the float64 method error
            assert e["float32"] * precision.FLOAT32_MARGIN <= e["discretisation"], (dt, e)
    if method not in FLOOR:
        assert precision.sde_verdict(errs, "float32") == "yes"


def test_bfloat16_stalls_euler_at_small_steps():
    e = precision.sde_errors("euler", 2.0**-8, n_paths=100, lows=("bfloat16",))
    assert e["bfloat16"] > 0.05  # the page's "no": dt mu y falls under bfloat16's resolution of y


@pytest.mark.parametrize("method", ["log", "sns"])
def test_float32_entropic_ot_reaches_its_default_tolerance(method):
    pytest.importorskip("stochflow.bridge")
    r = precision.ot_errors(method, n=150, lows=("float32",), deep=False)
    f32 = r["float32"]
    assert r["float64 marginal error"] <= 1e-10
    assert f32["marginal error"] <= 1e-5  # float32's default tol
    assert f32["cost error"] <= 1e-4 and f32["plan error"] <= 1e-4
