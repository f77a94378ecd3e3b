"""stochflow-sde: processes, Brownian paths and SDE solvers on PyTorch and JAX.

>>> import torch, stochflow.sde as sde
>>> ys = sde.solve(sde.GBM(mu=0.5, sigma=0.8), torch.ones(8, 2), torch.linspace(0, 1, 5), dt=2**-6, seed=0)
>>> ys.shape
torch.Size([5, 8, 2])
"""

from stochflow.sde.brownian import BrownianPath, LevyIncrement, VirtualBrownianTree, draw_increments
from stochflow.sde.methods import METHODS, Method, get_method
from stochflow.sde.processes import CIR, GBM, SDE, BrownianMotion, OrnsteinUhlenbeck, UnderdampedLangevin
from stochflow.sde.solve import make_grid, solve

__all__ = [
    "CIR", "GBM", "METHODS", "SDE", "BrownianMotion", "BrownianPath", "LevyIncrement", "Method",
    "OrnsteinUhlenbeck", "UnderdampedLangevin", "VirtualBrownianTree", "draw_increments", "get_method", "make_grid",
    "solve",
]
__version__ = "0.1.0"
