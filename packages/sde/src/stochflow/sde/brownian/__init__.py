"""Brownian paths: a fixed-grid fast path and a single-seed virtual Brownian tree, torch and JAX.

>>> import stochflow.sde as sde
>>> bm = sde.VirtualBrownianTree(0.0, 1.0, shape=(2,), seed=0, levy_area="space-time")
>>> inc = bm(0.0, 0.5, levy=True)
>>> (tuple(inc.W.shape), tuple(inc.H.shape), inc.K)
((2,), (2,), None)
"""

from stochflow.sde.brownian.levy import LEVY_AREAS, LevyIncrement
from stochflow.sde.brownian.path import BrownianPath, draw_increments
from stochflow.sde.brownian.tree import VirtualBrownianTree

__all__ = ["LEVY_AREAS", "BrownianPath", "LevyIncrement", "VirtualBrownianTree", "draw_increments"]
