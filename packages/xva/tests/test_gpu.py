"""device="cuda": outputs stay on the GPU (run by `nox -s gpu`; skipped with a reason elsewhere)."""

import pytest
import torch

from stochflow.xva import (
    BSDE,
    CorrelatedGBM,
    DeepBSDESolver,
    ExponentialDefault,
    Forward,
    Market,
    Portfolio,
    Settings,
    XvaPipeline,
    linear_driver,
)


@pytest.mark.gpu
def test_solver_and_pipeline_run_on_cuda():
    prob = BSDE(CorrelatedGBM([100.0], [0.2], [0.05]), linear_driver(0.05),
                lambda x: (x[:, 0] - 100).clamp_min(0), 1.0, 5)
    res = DeepBSDESolver(iterations=5, batch_size=32, width=8, device="cuda").solve(prob)
    assert res.model.y0.device.type == "cuda"
    paths = prob.sample(16, seed=0, dtype=torch.float32, device="cuda")
    ys, _ = res.rollout(prob, paths)
    assert ys.device.type == "cuda"
    market = Market(rate=0.0, spot=[100.0], vol=[0.25], counterparty=ExponentialDefault(0.1, 0.3))
    out = XvaPipeline(Portfolio([Forward(maturity=1.0)]), market,
                      settings=Settings(n_steps=10, n_paths=500, device="cuda", bsde=dict(iterations=5))).run()
    assert out.cva.value > 0 and out.fva is not None
