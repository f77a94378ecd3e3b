"""A script run unchanged by `python` and by `torchrun --nproc_per_node=2` (gloo on CPU).

It prints one JSON line on rank 0: a sharded Monte Carlo estimate of GBM moments (paths solved by
stochflow.sde), xVA estimates on Monte Carlo blocks shared out over the ranks, and the losses of a
small DDP-trained regression, and writes/reads a checkpoint.
"""

from __future__ import annotations

import json
import math
import sys

import torch

import stochflow.sde as sde
import stochflow.xva as xva
from stochflow.core import derive_seed
from stochflow.core import distributed as D


def gbm_sums(n: int, seed: int) -> torch.Tensor:
    """Sums of Y_T and Y_T^2 over n GBM paths (T = 1 from 1, mu = 0.05, sigma = 0.2) solved by
    stochflow.sde with Euler steps of 2^-6 on the path drawn from ``seed``."""
    ts = torch.tensor([0.0, 1.0], dtype=torch.float64)
    y = sde.solve(sde.GBM(mu=0.05, sigma=0.2), torch.ones(n, 1, dtype=torch.float64), ts, solver="euler",
                  dt=2**-6, seed=seed)[-1, :, 0]
    return torch.stack([y.sum(), (y * y).sum()])


def xva_estimates() -> dict:
    """CVA, DVA and the exposure profile of a forward with a structural counterparty (so the
    default-boosting measure change runs too) on Monte Carlo blocks shared out over the ranks."""
    market = xva.Market(rate=0.01, spot=[100.0], vol=[0.25], counterparty=xva.StructuralFirm(100.0, 70.0, 0.25),
                        bank=xva.ExponentialDefault(0.05, 0.4))
    settings = xva.Settings(n_steps=40, n_paths=6000, fva="none", mc_block_size=1000)
    res = xva.XvaPipeline(xva.Portfolio([xva.Forward(maturity=1.0, strike=100.0)]), market, settings=settings).run()
    return {"cva": [res.cva.value, res.cva.stderr], "dva": [res.dva.value, res.dva.stderr],
            "epe": res.profile.epe.tolist(), "pfe": res.profile.pfe.tolist(),
            "cpty_default": res.default_probability["counterparty"]}


def train(steps: int, ckpt_in: str | None, ckpt_out: str, seed: int = 0) -> list[float]:
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 1, dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    start = 0
    if ckpt_in:
        state = D.load_checkpoint(ckpt_in)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        start = state["step"]
    ddp = D.wrap_model(model)
    true_w = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64)
    losses = []
    for step in range(start, start + steps):
        g = torch.Generator().manual_seed(derive_seed(seed, "batch", step, "rank", D.rank()))
        x = torch.randn(64, 3, generator=g, dtype=torch.float64)
        y = x @ true_w.T + 0.3
        loss = ((ddp(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(D.all_reduce_mean(loss.detach().clone())))
    D.save_checkpoint(ckpt_out, {"model": D.unwrap_model(ddp).state_dict(), "opt": opt.state_dict(),
                                 "step": start + steps})
    return losses


def main() -> None:
    mode, ckpt_in, ckpt_out = sys.argv[1], sys.argv[2], sys.argv[3]
    distributed = D.init_from_env()
    sums = D.sharded_monte_carlo(gbm_sums, 50_000, seed=7, block_size=4096)
    mean, second = (sums / 50_000).tolist()
    xva_mc = xva_estimates()
    losses = train(30, None if ckpt_in == "-" else ckpt_in, ckpt_out)
    if D.is_main():
        print(json.dumps({"mode": mode, "distributed": distributed, "world": D.world_size(), "mean": mean,
                          "second": second, "exact_mean": math.exp(0.05), "losses": losses, "xva": xva_mc}))
    D.shutdown()


if __name__ == "__main__":
    main()
