"""Brownian increments on a time grid: the one place where stochflow-xva draws Gaussian noise.

The forward models, the deep BSDE and the Monte Carlo estimators all take their increments from
:func:`brownian_increments`, so one seed gives one set of paths everywhere. (stochflow-sde's Brownian objects are meant to take
this role; while that package has no code yet, this module is the package's single definition of
path sampling, to be swapped for ``stochflow.sde.BrownianPath(...).grid_increments(ts)``.)
"""

from __future__ import annotations

import torch

from stochflow.core.seeding import derive_seed


def generator(seed: int, device: torch.device | str = "cpu", *keys: object) -> torch.Generator:
    """A torch generator on ``device`` seeded with ``derive_seed(seed, *keys)``."""
    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(derive_seed(int(seed), "stochflow-xva", *keys) % (2**63))
    return gen


def brownian_increments(times: torch.Tensor, batch: int, dim: int, *, seed: int,
                        keys: tuple = ()) -> torch.Tensor:
    """Independent standard Brownian increments ``W(t_{n+1}) - W(t_n)`` on the grid ``times``.

    Parameters
    ----------
    times
        Increasing 1-D tensor of grid times; its dtype and device are those of the output.
    batch, dim
        Number of paths and of independent Brownian components.
    seed, keys
        Seed and sub-stream keys (``derive_seed(seed, "stochflow-xva", *keys)``).

    Returns
    -------
    torch.Tensor
        Shape ``(len(times) - 1, batch, dim)``.
    """
    dt = torch.diff(times)
    gen = generator(seed, times.device, "brownian", *keys)
    z = torch.randn((dt.shape[0], batch, dim), generator=gen, dtype=times.dtype, device=times.device)
    return z * dt.sqrt()[:, None, None]


def uniforms(shape: tuple[int, ...], like: torch.Tensor, *, seed: int, keys: tuple = ()) -> torch.Tensor:
    """Independent U(0, 1) draws of ``shape`` with the dtype and device of ``like``."""
    gen = generator(seed, like.device, "uniform", *keys)
    return torch.rand(shape, generator=gen, dtype=like.dtype, device=like.device)
