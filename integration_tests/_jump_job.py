"""The jump package under `torchrun --nproc_per_node=2` (gloo, CPU) and in one process, unchanged.

    python _jump_job.py CHECKPOINT STOP_AFTER

runs sharded Gillespie Monte Carlo (the law of X_T of a 3-state chain, from occupation counts),
then pretrains the amortised network up to STOP_AFTER steps, resuming from CHECKPOINT when it
exists, and prints one JSON line on rank 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from stochflow.core import distributed as D

Q = torch.tensor([[-1.0, 0.7, 0.3], [0.4, -0.9, 0.5], [0.2, 0.6, -0.8]], dtype=torch.float64)
P0 = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
T = 1.5
N_PATHS = 12_000

CONFIG = dict(d_model=16, n_heads=2, batch_size=8, n_paths=(8, 16), n_times=(8, 16), steps=60, lr=3e-3, seed=0)


def occupation_counts(n: int, seed: int) -> torch.Tensor:
    """How many of ``n`` Gillespie paths are in each state at ``T``."""
    from stochflow.jump import simulate

    paths = simulate(Q, P0, n_paths=n, t_max=T, seed=seed)
    state = paths.state_at(torch.tensor([T], dtype=torch.float64))[..., 0]
    return torch.nn.functional.one_hot(state, 3).to(torch.float64).sum(0)


def main() -> None:
    ckpt, stop_after = Path(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(1)
    D.init_from_env()
    law = D.sharded_monte_carlo(occupation_counts, N_PATHS, seed=11, block_size=1500) / N_PATHS

    from stochflow.jump.amortized import AmortizedConfig, pretrain

    resume = ckpt if ckpt.exists() else None
    net = pretrain(None if resume else AmortizedConfig(**CONFIG), out=ckpt, every=10, progress=False,
                   resume=resume, stop_after=stop_after)
    # DDP keeps the replicas equal although every rank trained on its own batches
    checksum = torch.stack([p.detach().double().sum() for p in net.parameters()]).sum().reshape(1)
    sums = [torch.zeros(1, dtype=torch.float64) for _ in range(D.world_size())]
    if D.is_initialized():
        torch.distributed.all_gather(sums, checksum)
    else:
        sums = [checksum]
    state = torch.load(ckpt, weights_only=False)
    if D.is_main():
        exact = P0 @ torch.linalg.matrix_exp(Q * T)
        print(json.dumps({"world": D.world_size(), "law": law.tolist(), "exact": exact.tolist(),
                          "n_paths": N_PATHS, "history": state["history"], "step": state["step"],
                          "checksums": [float(s) for s in sums]}))
    D.shutdown()


if __name__ == "__main__":
    main()
