"""Small reference networks: an MLP with a time embedding, and a compact U-Net for images.

Both predict the noise ε̂(x, t) (use ``to_score(net, "noise", sde)`` or :class:`TrainedScore`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from stochflow.core.errors import InputError


class FourierTime(nn.Module):
    """Sinusoidal embedding of t ∈ [0, 1] (fixed frequencies, geometric from 1 to 1000)."""

    def __init__(self, dim: int = 32):
        super().__init__()
        if dim < 2 or dim % 2:
            raise InputError(f"time embedding size must be an even number >= 2, got {dim}")
        self.register_buffer("freqs", torch.exp(torch.linspace(0.0, math.log(1000.0), dim // 2)))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        a = t.to(self.freqs.dtype)[:, None] * self.freqs[None] * math.pi
        return torch.cat([a.sin(), a.cos()], dim=1)


class MLPScore(nn.Module):
    """ε̂(x, t) for vectors ``(n, dim)``: an MLP on ``[x, embed(t)]`` with SiLU activations."""

    def __init__(self, dim: int, hidden: int = 128, layers: int = 3, time_dim: int = 32):
        super().__init__()
        if dim < 1 or hidden < 1 or layers < 1:
            raise InputError(f"dim, hidden and layers must be >= 1, got {dim}, {hidden}, {layers}")
        self.dim = dim
        self.embed = FourierTime(time_dim)
        sizes = [dim + time_dim] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            mods += [nn.Linear(a, b), nn.SiLU()]
        mods.append(nn.Linear(hidden, dim))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InputError(f"MLPScore expects (n, {self.dim}), got {tuple(x.shape)}")
        return self.net(torch.cat([x, self.embed(t).to(x.dtype)], dim=1))


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, tdim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.temb = nn.Linear(tdim, cout)
        self.norm1 = nn.GroupNorm(min(8, cout), cout)
        self.norm2 = nn.GroupNorm(min(8, cout), cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, e):
        h = nn.functional.silu(self.norm1(self.conv1(x)))
        h = h + self.temb(e)[:, :, None, None]
        h = nn.functional.silu(self.norm2(self.conv2(h)))
        return h + self.skip(x)


class SmallUNet(nn.Module):
    """A compact U-Net for images ``(n, C, H, W)`` with H, W divisible by 4: two resolutions down,
    a middle block, two up with skip connections; time enters every block."""

    def __init__(self, channels: int = 1, base: int = 32, time_dim: int = 64):
        super().__init__()
        self.embed = nn.Sequential(FourierTime(time_dim), nn.Linear(time_dim, time_dim), nn.SiLU())
        c1, c2, c3 = base, 2 * base, 2 * base
        self.inp = nn.Conv2d(channels, c1, 3, padding=1)
        self.d1, self.d2, self.mid = _Block(c1, c1, time_dim), _Block(c1, c2, time_dim), _Block(c2, c3, time_dim)
        self.u2, self.u1 = _Block(c3 + c2, c2, time_dim), _Block(c2 + c1, c1, time_dim)
        self.out = nn.Conv2d(c1, channels, 3, padding=1)
        self.channels = channels

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.channels or x.shape[2] % 4 or x.shape[3] % 4:
            raise InputError(f"SmallUNet expects (n, {self.channels}, H, W) with H, W divisible by 4, got {tuple(x.shape)}")
        e = self.embed(t).to(x.dtype)
        h1 = self.d1(self.inp(x), e)
        h2 = self.d2(nn.functional.avg_pool2d(h1, 2), e)
        m = self.mid(nn.functional.avg_pool2d(h2, 2), e)
        u2 = self.u2(torch.cat([nn.functional.interpolate(m, scale_factor=2.0), h2], 1), e)
        u1 = self.u1(torch.cat([nn.functional.interpolate(u2, scale_factor=2.0), h1], 1), e)
        return self.out(u1)
