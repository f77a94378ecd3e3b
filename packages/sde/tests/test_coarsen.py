"""Coarsening (dW, H) across nested grids: the aggregation formula, against the tree, in law.

Derivation (normalised space-time Lévy area ``H = (1/h) ∫_0^h (W_u - (u/h) W_h) du``, so that
``∫_0^h W_u du = h (W/2 + H)``). For two halves of length ``h`` with ``(W1, H1)``, ``(W2, H2)``:
``∫_0^{2h} W = h (W1/2 + H1) + h (W1 + W2/2 + H2)``; dividing by ``2h`` and subtracting
``(W1 + W2)/2`` gives ``H = (H1 + H2)/2 + (W1 - W2)/4``.
"""

import numpy as np
import torch

import stochflow.sde as sde
from stochflow.sde.convergence import coarsen


def test_two_halves_formula():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(6, 2, 3, generator=g, dtype=torch.float64)
    h = torch.randn(6, 2, 3, generator=g, dtype=torch.float64)
    out = coarsen(w, h, 0.5, 2)
    torch.testing.assert_close(out.W, w[0::2] + w[1::2], rtol=0, atol=1e-14)
    torch.testing.assert_close(out.H, (h[0::2] + h[1::2]) / 2 + (w[0::2] - w[1::2]) / 4, rtol=0, atol=1e-14)


def test_nested_coarsening_is_consistent():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(16, 5, generator=g, dtype=torch.float64) * 0.25
    h = torch.randn(16, 5, generator=g, dtype=torch.float64) * 0.25 / 12**0.5
    once = coarsen(w, h, 1 / 16, 8)
    twice = coarsen(*coarsen(w, h, 1 / 16, 2), 1 / 8, 4)
    torch.testing.assert_close(once.W, twice.W, rtol=0, atol=1e-14)
    torch.testing.assert_close(once.H, twice.H, rtol=0, atol=1e-14)


def test_coarsening_agrees_with_the_virtual_brownian_tree():
    # an independent construction (the tree's moment maps): coarse queries equal coarsened fine ones
    bm = sde.VirtualBrownianTree(0.0, 1.0, shape=(7,), seed=3, dtype=torch.float64, levy_area="space-time",
                                 tol=2**-6)
    fine = bm.grid_increments(np.linspace(0, 1, 17), levy=True)
    coarse = bm.grid_increments(np.linspace(0, 1, 3), levy=True)
    out = coarsen(fine.W, fine.H, 1 / 16, 8)
    torch.testing.assert_close(out.W, coarse.W, rtol=0, atol=1e-12)
    torch.testing.assert_close(out.H, coarse.H, rtol=0, atol=1e-12)


def test_coarsened_area_has_the_right_law():
    # fine pieces drawn independently: the coarse H must be N(0, T/12), uncorrelated with W
    n, k, hf = 200_000, 8, 0.125
    g = torch.Generator().manual_seed(2)
    w = torch.randn(k, n, generator=g, dtype=torch.float64) * hf**0.5
    h = torch.randn(k, n, generator=g, dtype=torch.float64) * (hf / 12) ** 0.5
    out = coarsen(w, h, hf, k)
    t = k * hf
    var = float(out.H.var())
    assert abs(var - t / 12) < 4 * (t / 12) * (2 / n) ** 0.5
    corr = float(np.corrcoef(out.H.ravel().numpy(), out.W.ravel().numpy())[0, 1])
    assert abs(corr) < 4 / n**0.5
