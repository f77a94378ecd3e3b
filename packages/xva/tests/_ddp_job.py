"""Run by test_distributed.py, single-process or under torchrun: train a small deep BSDE."""

import json
import sys

import torch

from stochflow.core import distributed as dist
from stochflow.xva import BSDE, CorrelatedGBM, DeepBSDESolver, linear_driver

torch.set_num_threads(1)
mode, checkpoint, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
distributed = dist.init_from_env()
problem = BSDE(CorrelatedGBM([100.0], [0.2], [0.05]), linear_driver(0.05),
               lambda x: (x[:, 0] - 100).clamp_min(0), 1.0, 5)
solver = DeepBSDESolver(iterations=iterations, batch_size=32, width=8, seed=0, checkpoint=checkpoint)
res = solver.solve(problem, resume=checkpoint if mode == "resume" else None)
if dist.is_main():
    print(json.dumps({"world": dist.world_size(), "distributed": distributed, "y0": res.y0,
                      "iterations": res.iterations, "losses": res.loss_history.tolist()}))
