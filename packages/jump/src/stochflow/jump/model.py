"""The fitted model of a Markov jump process: an immutable record with its analyses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stochflow.core.errors import InputError
from stochflow.core.estimator import check_stamp, stamp
from stochflow.jump import analysis
from stochflow.jump._backend import as_tensor, framework, to_framework

PACKAGE = "stochflow-jump"


@dataclass(frozen=True)
class MarkovJumpModel:
    """A Markov jump process: generator, initial distribution and (for noisy data) label noise.

    Arrays are in the framework of the data the model was fitted on, batched over processes.

    Attributes
    ----------
    generator
        ``(..., S, S)`` rate matrix.
    initial_distribution
        ``(..., S)`` law of the state at time 0.
    flip_prob
        ``(...)`` probability that an observed label is wrong (``None``: noise-free model).
    generator_std
        ``(..., S, S)`` posterior standard deviations of the rates, where the estimator gives them.
    log_likelihood
        ``(...)`` log-likelihood of the data at the estimate (``None`` where not computed).
    n_iter, converged
        Iterations used and whether the stopping rule was met (iterative estimators).
    history
        The log-posterior (summed over processes) after each iteration.
    """

    generator: Any
    initial_distribution: Any
    flip_prob: Any = None
    generator_std: Any = None
    log_likelihood: Any = None
    n_iter: int = 0
    converged: bool = True
    history: tuple[float, ...] = field(default=(), repr=False)

    @property
    def n_states(self) -> int:
        return int(self.generator.shape[-1])

    # -- analyses ------------------------------------------------------------------------
    def stationary_distribution(self) -> Any:
        """See :func:`stochflow.jump.analysis.stationary_distribution`."""
        return analysis.stationary_distribution(self.generator)

    def relaxation_times(self) -> Any:
        """See :func:`stochflow.jump.analysis.relaxation_times`."""
        return analysis.relaxation_times(self.generator)

    def mean_first_passage_times(self) -> Any:
        """See :func:`stochflow.jump.analysis.mean_first_passage_times`."""
        return analysis.mean_first_passage_times(self.generator)

    def entropy_production(self) -> Any:
        """See :func:`stochflow.jump.analysis.entropy_production`."""
        return analysis.entropy_production(self.generator)

    def transition_matrix(self, t: Any) -> Any:
        """``e^{Qt}``; see :func:`stochflow.jump.transition_matrix`."""
        from stochflow.jump.propagation import transition_matrix

        return transition_matrix(self.generator, t)

    def propagate(self, times: Any) -> Any:
        """The state distribution ``p(t) = p0 e^{Qt}`` at ``times`` ``(T,)``: ``(..., T, S)``."""
        from stochflow.jump.propagation import propagate

        return propagate(self.initial_distribution, self.generator, times)

    def sample(self, n_paths: int, t_max: float, *, seed: int | None = None):
        """Simulate paths from the model (exact jump times); see :func:`stochflow.jump.simulate`."""
        from stochflow.jump.gillespie import simulate

        return simulate(self.generator, self.initial_distribution, n_paths=n_paths, t_max=t_max, seed=seed)

    def hellinger_distance(self, observations: Any, *, n_bins: int = 10) -> Any:
        """See :func:`stochflow.jump.analysis.hellinger_distance`."""
        return analysis.hellinger_distance(self, observations, n_bins=n_bins)

    def dfr_parameters(self):
        """``(V, r, b)`` of a 6-state model read as a discrete flashing ratchet."""
        from stochflow.jump.generators import dfr_parameters

        return dfr_parameters(self.generator)

    def rate_rmse(self, Q_true: Any) -> Any:
        """RMSE of the off-diagonal rates against ``Q_true``."""
        from stochflow.jump.generators import rate_rmse

        return rate_rmse(self.generator, Q_true)

    # -- saving --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (nested lists) with a version stamp."""

        def plain(x: Any) -> Any:
            if x is None:
                return None
            return as_tensor(x, "array").detach().cpu().double().numpy().tolist()

        std = None if self.generator_std is None else np.where(
            np.isfinite(as_tensor(self.generator_std, "std").double().cpu().numpy()),
            as_tensor(self.generator_std, "std").double().cpu().numpy(), -1.0).tolist()
        return {"stamp": stamp(PACKAGE, self), "n_states": self.n_states, "generator": plain(self.generator),
                "initial_distribution": plain(self.initial_distribution), "flip_prob": plain(self.flip_prob),
                "generator_std": std, "log_likelihood": plain(self.log_likelihood), "n_iter": int(self.n_iter),
                "converged": bool(self.converged)}

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, like: Any = None) -> MarkovJumpModel:
        """Inverse of :meth:`to_dict`; arrays are torch float64 (numpy if ``like`` is a numpy array)."""
        check_stamp(data.get("stamp"), PACKAGE, cls)
        fw = framework(like) if like is not None else "torch"

        def arr(key: str) -> Any:
            v = data.get(key)
            return None if v is None else to_framework(torch.tensor(v, dtype=torch.float64), fw)

        std = arr("generator_std")
        if std is not None:
            t = as_tensor(std, "std")
            std = to_framework(torch.where(t < 0, torch.full_like(t, float("inf")), t), fw)
        if data.get("generator") is None or data.get("initial_distribution") is None:
            raise InputError("a saved model needs 'generator' and 'initial_distribution'")
        return cls(arr("generator"), arr("initial_distribution"), arr("flip_prob"), std, arr("log_likelihood"),
                   int(data.get("n_iter", 0)), bool(data.get("converged", True)))

    @classmethod
    def load(cls, path: str | Path) -> MarkovJumpModel:
        """Read a file written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read a model from {path}: {exc}") from exc
        return cls.from_dict(data)
