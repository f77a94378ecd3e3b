"""Seeded non-Gaussian draws of stochflow-xva: uniforms for bridge crossings and exponential
default times, and the generator of the initial-margin regression's mini-batches.

Brownian increments are not drawn here: the forward models take them from stochflow-sde
(:func:`stochflow.xva.forward.brownian_increments`).
"""

from __future__ import annotations

import torch

from stochflow.core.seeding import derive_seed


def generator(seed: int, device: torch.device | str = "cpu", *keys: object) -> torch.Generator:
    """A torch generator on ``device`` seeded with ``derive_seed(seed, "stochflow-xva", *keys)``."""
    gen = torch.Generator(device=torch.device(device))
    gen.manual_seed(derive_seed(int(seed), "stochflow-xva", *keys) % (2**63))
    return gen


def uniforms(shape: tuple[int, ...], like: torch.Tensor, *, seed: int, keys: tuple = ()) -> torch.Tensor:
    """Independent U(0, 1) draws of ``shape`` with the dtype and device of ``like``."""
    gen = generator(seed, like.device, "uniform", *keys)
    return torch.rand(shape, generator=gen, dtype=like.dtype, device=like.device)
