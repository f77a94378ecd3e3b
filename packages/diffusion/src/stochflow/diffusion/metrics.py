"""Sample-quality metrics against reference samples or a known mixture (any data shape; flattened).

Sliced 2-Wasserstein, energy distance, Gaussian-kernel MMD and the total variation between mode
weights (each sample assigned to the most probable component of a :class:`GaussianMixture`).
"""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError


def _pair(x, y):
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise InputError("x and y must be torch tensors")
    x, y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    if x.shape[1] != y.shape[1]:
        raise InputError(f"x and y must have the same event size, got {x.shape[1]} and {y.shape[1]}")
    dt = torch.promote_types(x.dtype, y.dtype)
    return x.to(dt), y.to(device=x.device, dtype=dt)


def sliced_w2(x: torch.Tensor, y: torch.Tensor, n_projections: int = 256, seed: int = 0) -> float:
    """Sliced 2-Wasserstein distance (root mean squared 1-D W2 over random directions); quantiles
    on a common grid when the sample sizes differ."""
    x, y = _pair(x, y)
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(x.shape[1], n_projections, generator=g, dtype=torch.float64).to(x.dtype)
    theta = theta / theta.norm(dim=0, keepdim=True)
    px, _ = torch.sort(x @ theta, dim=0)
    py, _ = torch.sort(y @ theta, dim=0)
    if px.shape[0] != py.shape[0]:
        q = torch.linspace(0, 1, max(px.shape[0], py.shape[0]), dtype=x.dtype)
        px, py = torch.quantile(px, q, dim=0), torch.quantile(py, q, dim=0)
    return float(((px - py) ** 2).mean().sqrt())


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Energy distance ``2E|X−Y| − E|X−X'| − E|Y−Y'|`` (V-statistics)."""
    x, y = _pair(x, y)
    return float(2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean())


def mmd(x: torch.Tensor, y: torch.Tensor, bandwidth: float | None = None) -> float:
    """Squared MMD with a Gaussian kernel (bandwidth: median pairwise distance of y by default)."""
    x, y = _pair(x, y)
    if bandwidth is None:
        bandwidth = float(torch.cdist(y, y).median().clamp_min(1e-12))

    def k(a, b):
        return torch.exp(-torch.cdist(a, b) ** 2 / (2 * bandwidth**2)).mean()

    return float(k(x, x) + k(y, y) - 2 * k(x, y))


def mode_weight_tv(mixture, x: torch.Tensor) -> float:
    """Total variation between the mixture's weights and the fraction of samples per mode."""
    resp = mixture.responsibilities(x.to(torch.float64))
    counts = torch.bincount(resp.argmax(1), minlength=mixture.n_components).to(torch.float64)
    return float(0.5 * (counts / counts.sum() - mixture.weights).abs().sum())
