"""A script run unchanged by `python` and by `torchrun --nproc_per_node=2` (gloo on CPU).

It prints one JSON line on rank 0: a sharded Monte Carlo estimate of GBM moments and the losses of
a small DDP-trained regression, and writes/reads a checkpoint.
"""

from __future__ import annotations

import json
import math
import sys

import torch

from stochflow.core import derive_seed
from stochflow.core import distributed as D


def gbm_sums(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, generator=g, dtype=torch.float64)
    y = torch.exp((0.05 - 0.5 * 0.2**2) + 0.2 * w)  # GBM at T = 1 from 1, mu = 0.05, sigma = 0.2
    return torch.stack([y.sum(), (y * y).sum()])


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
    losses = train(30, None if ckpt_in == "-" else ckpt_in, ckpt_out)
    if D.is_main():
        print(json.dumps({"mode": mode, "distributed": distributed, "world": D.world_size(), "mean": mean,
                          "second": second, "exact_mean": math.exp(0.05), "losses": losses}))
    D.shutdown()


if __name__ == "__main__":
    main()
