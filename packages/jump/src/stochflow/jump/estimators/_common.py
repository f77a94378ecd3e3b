"""Shared checks of estimator parameters and inputs."""

from __future__ import annotations

from typing import Any

from stochflow.core.errors import InputError, InputTypeError
from stochflow.jump.prior import ESTIMATES, GammaPrior


def check_prior(prior: Any) -> GammaPrior | None:
    if prior is None or isinstance(prior, GammaPrior):
        return prior
    if isinstance(prior, (tuple, list)) and len(prior) == 2:
        return GammaPrior(*prior)
    raise InputTypeError(f"prior must be a GammaPrior, a pair (alpha, beta) or None, got {prior!r}")


def check_estimate(estimate: Any) -> str:
    if estimate not in ESTIMATES:
        raise InputError(f"estimate must be one of {ESTIMATES}, got {estimate!r}")
    return estimate


def need_observations(data: Any, who: str):
    from stochflow.jump.observations import Observations
    from stochflow.jump.paths import JumpPaths

    if isinstance(data, JumpPaths):
        raise InputTypeError(f"{who} fits discrete observations; for fully observed paths use MLEstimator, "
                             "or observe them first with paths.observe(n_times=...)")
    if not isinstance(data, Observations):
        raise InputTypeError(f"{who}.fit needs stochflow.jump.Observations (e.g. Observations.from_records(...)), "
                             f"got {type(data).__name__}")
    return data
