"""One package trainer, run unchanged by `python` and by `torchrun --nproc_per_node=2` (gloo, CPU).

    python _trainer_job.py TRAINER ITERATIONS CHECKPOINT

trains to ITERATIONS (resuming from CHECKPOINT when it exists) and prints one JSON line on rank 0:
the world size, the losses of this run and what the trainer reports (for xVA, Y0 against
Black–Scholes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from stochflow.core import distributed as D


def diffusion(iterations: int, ckpt: Path) -> dict:
    import stochflow.diffusion as sfd
    from stochflow.diffusion.nets import MLPScore
    from stochflow.diffusion.training import ScoreTrainer

    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    data = torch.randn(4096, 2, generator=torch.Generator().manual_seed(1)) * 0.3 + 1.0
    trainer = ScoreTrainer(sfd.VPSDE(), MLPScore(2), iterations=iterations, batch_size=128, lr=3e-3, seed=0,
                           checkpoint=ckpt, checkpoint_every=10, progress_bar=False)
    trainer.fit(data)
    return {"losses": trainer.losses_, "step": trainer.step_}


def xva(iterations: int, ckpt: Path) -> dict:
    from stochflow.xva import BSDE, CorrelatedGBM, DeepBSDESolver, black_scholes, linear_driver

    r, vol, strike = 0.05, 0.2, 100.0
    problem = BSDE(CorrelatedGBM([100.0], [vol], [r]), linear_driver(r),
                   lambda x: (x[:, 0] - strike).clamp_min(0), maturity=1.0, n_steps=10)
    solver = DeepBSDESolver(iterations=400, width=16, batch_size=128, seed=0, checkpoint=ckpt,
                            checkpoint_every=10, show_progress=False)
    result = solver.fit(problem, resume=ckpt if ckpt.exists() else None, stop_after=iterations).fetch_model()
    state = torch.load(ckpt, weights_only=False)
    return {"losses": list(result.loss_history), "step": int(state["iteration"]), "y0": result.y0,
            "exact": float(black_scholes(100.0, strike, 1.0, r, vol))}


def graph(iterations: int, ckpt: Path) -> dict:
    from stochflow.graph import datasets
    from stochflow.graph.training import GDSSTrainer

    train, _ = datasets.split(datasets.community_small(40, seed=0))
    trainer = GDSSTrainer(size="tiny", iterations=iterations, batch_size=16, lr=5e-3, seed=0, checkpoint=ckpt,
                          checkpoint_every=10, progress_bar=False).fit(train)
    return {"losses": [lx + la for lx, la in trainer.losses_], "step": trainer.step_}


TRAINERS = {"diffusion": diffusion, "xva": xva, "graph": graph}


def main() -> None:
    name, iterations, ckpt = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    torch.set_num_threads(1)
    D.init_from_env()
    out = TRAINERS[name](iterations, ckpt)
    if D.is_main():
        print(json.dumps({"world": D.world_size(), **out}))
    D.shutdown()


if __name__ == "__main__":
    main()
