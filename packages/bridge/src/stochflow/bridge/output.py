"""The typed output record of the OT solvers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SinkhornOutput:
    """What :func:`stochflow.bridge.sinkhorn` returns. Arrays follow the inputs' framework, dtype and device.

    For a batch of problems (``M`` of shape ``(batch, n, m)``) every field gains a leading batch axis
    and ``n_iter``/``n_newton``/``converged`` are integer/boolean arrays.

    Attributes
    ----------
    plan
        The transport plan ``P_ij = exp((f_i + g_j - M_ij) / reg)``, shape ``(n, m)``.
    cost
        The transport cost ``<P, M>`` (POT's ``sinkhorn2``); its gradient with respect to ``M`` is
        the plan.
    value
        The entropic OT value ``<P, M> + reg * sum P (log P - 1)`` (plus ``reg_m`` times the two
        KL marginal penalties when unbalanced). Differentiable with respect to ``M``, ``a`` and
        ``b`` by the envelope theorem: the gradients are ``P``, ``f`` and ``g`` (balanced; the
        potentials' common shift ``(f + t, g - t)`` is immaterial for mass-preserving
        perturbations) or ``P``, ``reg_m (1 - P1 / a)``, ``reg_m (1 - P^T 1 / b)`` (unbalanced).
    f, g
        The dual potentials, shapes ``(n,)`` and ``(m,)``.
    marginal_error
        ``||P1 - a||_1 + ||P^T 1 - b||_1``, computed from ``plan`` the same way for every method.
    n_iter
        Iterations taken (log-Sinkhorn iterations; for SNS the warm-up iterations plus the Newton steps).
    n_newton
        Newton steps taken (0 for ``method="log"``).
    converged
        Whether ``marginal_error <= tol`` (as recomputed from ``plan``) when balanced;
        for unbalanced transport the change of both marginals over one iteration.
    history
        The stopping criterion at each iteration (the marginal error of the iterate when balanced).
    method
        ``"log"`` or ``"sns"``.
    """

    plan: Any
    cost: Any
    value: Any
    f: Any
    g: Any
    marginal_error: Any
    n_iter: Any
    n_newton: Any
    converged: Any
    history: Any
    method: str

    def __repr__(self) -> str:
        return (f"SinkhornOutput(method={self.method!r}, shape={tuple(self.plan.shape)}, n_iter={self.n_iter}, "
                f"converged={self.converged}, marginal_error={_short(self.marginal_error)}, "
                f"cost={_short(self.cost)})")


def _short(x: Any) -> str:
    try:
        return f"{float(x):.6g}"
    except (TypeError, ValueError):
        return f"<{tuple(getattr(x, 'shape', ()))}>"
