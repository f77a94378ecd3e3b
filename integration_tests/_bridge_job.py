"""The bridge's drift-reference refit (a neural reference of a multi-marginal Schrödinger bridge),
run unchanged by `python` and by `torchrun --nproc_per_node=2` (gloo, CPU).

    python _bridge_job.py N_REFINE CHECKPOINT

fits three snapshots of a drifting, rotating cloud with a neural drift (a ``torch.nn.Linear`` module,
refit by maximum likelihood through DDP), N_REFINE refinement iterations, resuming from CHECKPOINT when
it exists, and prints one JSON line on rank 0: the world size, the history, the refit parameters, the
largest difference between the ranks' parameters and the checkpoint's next iteration.

A one-layer drift keeps each refit's L-BFGS convergent, so 1 and 2 processes end at the same optimum
to rounding; a deeper MLP takes the same path, but L-BFGS's capped iterations on a non-convex loss
amplify the summation-order rounding of the all-reduced gradients (from 1e-16 at the first
evaluations to 1e-3 in the loss after 100 iterations).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch
import torch.distributed as dist

from stochflow.bridge import MultiMarginalSB
from stochflow.core import distributed as D


def snapshots() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for k in range(3):
        a = 0.6 * k
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        out.append((rng.normal(size=(33, 2)) * [0.5, 0.2]) @ rot.T + [k, 0.5 * k])
    return out


def main() -> None:
    n_refine, ckpt = int(sys.argv[1]), sys.argv[2]
    torch.set_num_threads(1)
    torch.manual_seed(0)   # the same initial drift everywhere (DDP also broadcasts rank 0's)
    drift = torch.nn.Linear(2, 2, dtype=torch.float64)
    sb = MultiMarginalSB(reference=drift, sigma=0.3, n_refine=n_refine, tol=0.0, checkpoint=ckpt)
    sb.fit(snapshots(), times=[0.0, 1.0, 2.0])   # joins torchrun's process group itself
    theta = torch.cat([p.detach().reshape(-1) for p in sb.reference_.parameters()])
    spread = 0.0
    if D.world_size() > 1:  # every rank's refit parameters against rank 0's
        ref = theta.clone()
        dist.broadcast(ref, 0)
        spread = D.all_reduce_sum((theta - ref).abs().max().reshape(1)).item()
    state = torch.load(ckpt, weights_only=False)
    if D.is_main():
        print(json.dumps({"world": D.world_size(), "history": sb.history_, "params": theta.tolist(),
                          "spread": spread, "next": int(state["iteration"])}))
    D.shutdown()


if __name__ == "__main__":
    main()
