"""Networks of the deep BSDE method: ``Z`` as a function of ``(t, x)``, shared across time (time as
an input) or one small network per time step; and a plain MLP for regressions (quantiles)."""

from __future__ import annotations

import torch
from torch import nn


def mlp(n_in: int, n_out: int, width: int, depth: int) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units with tanh; a linear output layer."""
    layers: list[nn.Module] = []
    last = n_in
    for _ in range(depth):
        layers += [nn.Linear(last, width), nn.Tanh()]
        last = width
    layers.append(nn.Linear(last, n_out))
    return nn.Sequential(*layers)


class Standardize(nn.Module):
    """``(x - mean) / scale`` with fixed buffers estimated from a sample of states."""

    def __init__(self, mean: torch.Tensor, scale: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("scale", scale.detach().clone().clamp_min(1e-8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale


class SharedZNet(nn.Module):
    """One network ``Z(t, x)`` for all time steps; ``t`` enters as ``t / T``. With ``skip`` a linear
    map of the (standardised) input is added to the network's output: ``Z`` is then linear in ``x``
    plus a learned correction, which a tanh network alone represents poorly in high dimension."""

    def __init__(self, dim: int, noise_dim: int, maturity: float, standardize: Standardize,
                 width: int, depth: int, out_scale: float = 1.0, skip: bool = False):
        super().__init__()
        self.maturity = float(maturity)
        self.standardize = standardize
        self.net = mlp(dim + 1, noise_dim, width, depth)
        self.skip = nn.Linear(dim + 1, noise_dim) if skip else None
        self.register_buffer("out_scale", torch.tensor(float(out_scale)))

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``t`` of shape ``(N,)``, ``x`` of ``(N, B, dim)`` -> ``Z`` of ``(N, B, noise_dim)``."""
        tt = (t / self.maturity)[:, None, None].expand(*x.shape[:2], 1)
        inp = torch.cat([tt, self.standardize(x)], -1)
        out = self.net(inp)
        if self.skip is not None:
            out = out + self.skip(inp)
        return self.out_scale * out


class PerStepZNet(nn.Module):
    """One network per time step (Han, Jentzen & E's original architecture, without batch norm)."""

    def __init__(self, dim: int, noise_dim: int, n_steps: int, standardize: Standardize,
                 width: int, depth: int, out_scale: float = 1.0, skip: bool = False):
        super().__init__()
        self.standardize = standardize
        self.nets = nn.ModuleList(mlp(dim, noise_dim, width, depth) for _ in range(n_steps))
        self.skips = nn.ModuleList(nn.Linear(dim, noise_dim) for _ in range(n_steps)) if skip else None
        self.register_buffer("out_scale", torch.tensor(float(out_scale)))

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        xs = self.standardize(x)
        out = [net(xs[n]) for n, net in enumerate(self.nets)]
        if self.skips is not None:
            out = [o + lin(xs[n]) for n, (o, lin) in enumerate(zip(out, self.skips))]
        return self.out_scale * torch.stack(out, 0)


class TimeStateNet(nn.Module):
    """A regression network ``q(t, x)`` with ``n_out`` outputs (conditional quantiles)."""

    def __init__(self, dim: int, n_out: int, maturity: float, standardize: Standardize,
                 width: int = 32, depth: int = 2):
        super().__init__()
        self.maturity = float(maturity)
        self.standardize = standardize
        self.net = mlp(dim + 1, n_out, width, depth)

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        tt = (t / self.maturity)[:, None, None].expand(*x.shape[:2], 1)
        return self.net(torch.cat([tt, self.standardize(x)], -1))
