"""JAX's sharding through stochflow's JAX solvers: inputs sharded over a 1-D mesh of two (forced
host) CPU devices on the batch axis give outputs that stay sharded on that axis, each device
holding its half, and equal to the single-device result.

The job runs in a subprocess because ``--xla_force_host_platform_device_count`` only takes effect
when it is set before jax is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

JOB = Path(__file__).with_name("_jax_sharding_job.py")

EXACT_SDE = ["sde-euler", "sde-srk", "sde-euler-jit", "sde-euler-tree", "ode-dopri5-adaptive", "sde-euler-adaptive",
             "sde-euler-adaptive-scattered", "ode-dopri5-adaptive-scattered"]
OT_BATCH = [f"ot-batch-{m}-{f}" for m in ("log", "sns") for f in ("plan", "f", "g", "cost")]
OT_ROWS = ["ot-rows-log-plan", "ot-rows-log-f"]


@pytest.fixture(scope="module")
def result() -> dict:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu",
           "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(JOB)], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    [line] = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    return json.loads(line)


def _halved(shape: list[int], axis: int) -> list[int]:
    return [n // 2 if i == axis else n for i, n in enumerate(shape)]


@pytest.mark.slow
def test_two_devices_and_a_sharded_input(result):
    assert result["devices"] == 2 and result["platform"] == "cpu"
    assert result["input_spec"] == ["batch"]


@pytest.mark.slow
@pytest.mark.parametrize("case", EXACT_SDE)
def test_sde_solve_keeps_the_batch_axis_sharded_and_equals_one_device(result, case):
    r = result[case]
    assert r["shape"] == [5, 8, 2]
    assert r["spec"] == [None, "batch"] and not r["replicated"]  # (time, batch, d): batch still split
    assert r["block"] == _halved(r["shape"], 1)
    assert r["diff"] <= 1e-12 * r["scale"]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["ot-cost-matrix", *OT_BATCH, *OT_ROWS])
def test_sinkhorn_keeps_problems_or_rows_sharded_and_equals_one_device(result, case):
    r = result[case]
    assert r["spec"][0] == "batch" and not r["replicated"]
    assert r["block"] == _halved(r["shape"], 0)
    assert r["diff"] <= 1e-12 * r["scale"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["log", "sns"])
def test_sharded_sinkhorn_converges(result, method):
    assert result[f"ot-batch-{method}-converged"]
