"""Conformance cases of the OT solvers for :func:`stochflow.core.testing.check_plugin`."""

from __future__ import annotations

from typing import Any

import numpy as np

from stochflow.core.testing import Case


def _problem(backend: str, dtype: str, seed: int, device: str) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(12, 2)), rng.normal(size=(10, 2)) + 0.5
    M = ((x[:, None] - y[None]) ** 2).sum(-1).astype(dtype)
    if backend == "torch":
        import torch

        return torch.as_tensor(M, device=device), None
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(M), None
    return M, None


def _case(method: str) -> Case:
    from stochflow.bridge.ot import sinkhorn

    def run(*, backend: str, dtype: str, seed: int, device: str) -> Any:
        M, _ = _problem(backend, dtype, seed, device)
        out = sinkhorn(None, None, M, 0.5, method=method, max_iter=200)
        return out.plan, out.cost

    bad_M = np.zeros((3, 3))
    bad_M[0, 0] = np.nan
    return Case(run=run, bad_inputs=[
        lambda: sinkhorn(None, None, bad_M, 0.1, method=method),
        lambda: sinkhorn(np.ones(3) / 3, np.ones(3) / 2, np.zeros((3, 3)), 0.1, method=method),
        lambda: sinkhorn(None, None, np.zeros((3, 3)), -1.0, method=method),
        lambda: sinkhorn(np.ones(4) / 4, None, np.zeros((3, 3)), 0.1, method=method),
    ])


def case_log() -> Case:
    return _case("log")


def case_sns() -> Case:
    return _case("sns")
