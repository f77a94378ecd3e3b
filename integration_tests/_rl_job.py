"""Neural value functions of stochflow-rl, run unchanged by `python` and by
`torchrun --nproc_per_node=2` (gloo, CPU).

    python _rl_job.py EPOCHS CHECKPOINT_DIR

fits three neural estimators on Ornstein-Uhlenbeck data (the martingale loss and TD(0.5) with a
small MLP, discounted; TD(0) with a quadratic model in the ergodic setting, whose average reward rho
is trained outside the network) up to EPOCHS iterations, resuming from the checkpoints in
CHECKPOINT_DIR when they exist, and prints one JSON line on rank 0: the world size, and per
estimator the loss history, the step reached, the trained parameters and the value on a grid.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

import stochflow.rl as sfr
from stochflow.core import distributed as D


class Quadratic(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def forward(self, x):
        return self.w * x[..., 0] ** 2


def mlp() -> torch.nn.Module:
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    return torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()


def main() -> None:
    epochs, folder = int(sys.argv[1]), Path(sys.argv[2])
    torch.set_num_threads(1)
    D.init_from_env()
    env = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5)
    data = env.rollout(n_paths=64, t_max=5.0, dt=0.05, seed=0)  # the same data on every rank
    ergodic = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, ergodic=True)
    edata = ergodic.rollout(n_paths=64, t_max=5.0, dt=0.05, seed=1)
    common = {"epochs": epochs, "batch_paths": 32, "seed": 0, "checkpoint_every": 25}
    fits = {
        "ml": (sfr.MartingaleLoss(model=mlp(), lr=0.02, checkpoint=folder / "ml.pt", **common), data),
        "td": (sfr.TD(model=mlp(), lam=0.5, lr=0.02, checkpoint=folder / "td.pt", **common), data),
        "ergodic": (sfr.TD(model=Quadratic(), lr=0.05, checkpoint=folder / "ergodic.pt", **common), edata),
    }
    x = torch.linspace(-1.5, 1.5, 7, dtype=torch.float64)
    out = {"world": D.world_size()}
    for name, (est, d) in fits.items():
        est.fit(d)
        state = torch.load(est.checkpoint, weights_only=False)
        out[name] = {"losses": est.history_.tolist(), "step": int(state["step"]),
                     "params": torch.cat([p.detach().reshape(-1) for p in est.model.parameters()]).tolist(),
                     "value": est.value(x).tolist(), "rho": None if est.rho_ is None else float(est.rho_)}
    out["truth"] = env.true_value(x).tolist()
    if D.is_main():
        print(json.dumps(out))
    D.shutdown()


if __name__ == "__main__":
    main()
