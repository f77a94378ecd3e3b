"""Networks of the deep BSDE method: ``Z`` as a function of ``(t, x)``, shared across time (time as
an input) or one small network per time step, or the gradient of a learned scalar ``u(t, x)``; and a
plain MLP for regressions (quantiles)."""

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

    def forward(self, t: torch.Tensor, x: torch.Tensor, first: int = 0) -> torch.Tensor:
        """``x`` of shape ``(K, B, dim)`` at the grid steps ``first, ..., first + K - 1`` -> ``(K, B, noise_dim)``."""
        xs = self.standardize(x)
        steps = range(first, first + x.shape[0])
        out = [self.nets[n](xs[k]) for k, n in enumerate(steps)]
        if self.skips is not None:
            out = [o + self.skips[n](xs[k]) for k, (o, n) in enumerate(zip(out, steps))]
        return self.out_scale * torch.stack(out, 0)


class GradientZNet(nn.Module):
    """``∇u(t, x)`` of a learned scalar ``u`` (tanh network of ``(t/T, standardised x)``); the solver
    turns it into ``Z = σ(t, x)ᵀ∇u`` with the problem's diffusion. The gradient is computed in the
    forward pass by the chain rule through the layers (no double backward). With ``skip``, ``u`` gains
    a linear and a diagonal quadratic term of the standardised state, so ``∇u`` gains a linear map of
    ``x``: the counterpart of the linear skip connection of :class:`SharedZNet`."""

    is_gradient = True

    def __init__(self, dim: int, maturity: float, standardize: Standardize, width: int, depth: int,
                 out_scale: float = 1.0, skip: bool = False):
        super().__init__()
        self.maturity = float(maturity)
        self.standardize = standardize
        self.hidden = nn.ModuleList(nn.Linear(dim + 1 if i == 0 else width, width) for i in range(depth))
        self.out = nn.Linear(width, 1)
        self.skip_linear = nn.Linear(dim + 1, 1) if skip else None
        self.skip_quadratic = nn.Parameter(torch.zeros(dim)) if skip else None
        self.register_buffer("out_scale", torch.tensor(float(out_scale)))

    def _inputs(self, t: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xs = self.standardize(x)
        tt = (t / self.maturity)[:, None, None].expand(*x.shape[:2], 1)
        return torch.cat([tt, xs], -1), xs

    def potential(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``u(t, x)`` (up to a constant), shape ``x.shape[:-1]``."""
        inp, xs = self._inputs(t, x)
        h = inp
        for layer in self.hidden:
            h = torch.tanh(layer(h))
        u = self.out(h)[..., 0]
        if self.skip_linear is not None:
            u = u + self.skip_linear(inp)[..., 0] + 0.5 * (self.skip_quadratic * xs * xs).sum(-1)
        return self.out_scale * u

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``t`` of shape ``(N,)``, ``x`` of ``(N, B, dim)`` -> ``∇_x u`` of ``(N, B, dim)``."""
        inp, xs = self._inputs(t, x)
        hs = []
        h = inp
        for layer in self.hidden:
            h = torch.tanh(layer(h))
            hs.append(h)
        g = self.out.weight[0].expand_as(hs[-1])  # du/dh of the last hidden layer
        for layer, h in zip(reversed(self.hidden), reversed(hs)):
            g = (g * (1 - h * h)) @ layer.weight  # through tanh, then the affine map
        g = g[..., 1:]  # drop d/dt
        if self.skip_linear is not None:
            g = g + self.skip_linear.weight[0, 1:] + self.skip_quadratic * xs
        return self.out_scale * g / self.standardize.scale


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
