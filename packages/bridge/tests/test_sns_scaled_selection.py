"""SNS keeps the ``K`` entries largest in the Jacobi-scaled plan ``diag(r)^-1/2 P diag(c)^-1/2``.

On densities with near-empty bins (the benchmark's digits images carry ``1e-4`` of the mean pixel there) the
plain top-``K`` of ``P`` keeps no entry of the light rows and columns, whose Newton coupling is then lost, and
the Newton steps converge only linearly (here 23 steps at reg = 0.01 mean(M); 40 on the squared-L2 digits of
``run.py``, measured before the shift's scaling below). Ranked after the Jacobi scaling, which gives the Hessian a
unit diagonal, every row and column keeps its strongest couplings and the steps converge fast (9 here).
Also here: the Levenberg-Marquardt shift scaled by the marginals (Marquardt's ``lambda diag``), and the Newton
loop's one evaluation of the plan per iterate (no direction for a converged one).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from stochflow.bridge import sinkhorn, sns
from stochflow.bridge._xp import ops

jax.config.update("jax_enable_x64", True)

BACKENDS = {"torch": torch.from_numpy, "jax": jnp.asarray}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_scaled_plan_is_the_unit_diagonal_scaling(backend):
    P = np.array([[0.2, 0.1, 0.0], [0.05, 0.3, 0.05], [0.0, 0.0, 0.0]])
    r, c = P.sum(1), P.sum(0)
    conv = BACKENDS[backend]
    Q = np.asarray(sns.scaled_plan(ops(backend), conv(P[None]), conv(r[None]), conv(c[None]))[0])
    expected = np.zeros_like(P)
    nz = P > 0
    expected[nz] = (P / np.sqrt(np.outer(r, c) + (~nz)))[nz]
    np.testing.assert_allclose(Q, expected, rtol=1e-14, atol=0)
    assert np.all(np.isfinite(Q)) and Q.max() <= 1.0   # P_ij <= min(r_i, c_j); the empty row gives zeros


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_sparse_selection_keeps_the_light_row(backend):
    # row 2 carries 1e-6 of the mass: the plain top-3 of P is rows 0 and 1 only; in the scaled plan its
    # entry (2, 2) is the largest of all (it is nearly the whole of row 2 and of a light column 2)
    P = np.array([[0.3, 0.1, 0.0], [0.1, 0.4, 1e-7], [0.0, 1e-8, 1e-6]])
    r, c = P.sum(1), P.sum(0)
    conv = BACKENDS[backend]
    vals, rows, cols = sns._sparse_ops(ops(backend), conv(P[None]), conv(r[None]), conv(c[None]), 3)
    kept = sorted(zip(np.asarray(rows).tolist(), np.asarray(cols).tolist()))
    assert kept == [(0, 0), (1, 1), (2, 2)]
    np.testing.assert_array_equal(np.asarray(vals), P[np.asarray(rows), np.asarray(cols)])   # plan values


def _light_bins_problem(side: int = 16, reg_fraction: float = 0.01):
    """Two blobs onto a ring of twelve, on a ``side x side`` grid, ``1e-4`` of the mean mass in every bin."""
    t = np.arange(side) / (side - 1)
    gx, gy = np.meshgrid(t, t, indexing="ij")
    grid = np.stack([gx.ravel(), gy.ravel()], 1)

    def density(centres, width):
        d = sum(np.exp(-((grid - np.asarray(ctr)) ** 2).sum(1) / (2 * width ** 2)) for ctr in centres)
        d = d + 1e-4 * d.mean()
        return d / d.sum()

    angles = np.linspace(0.0, 2.0 * np.pi, 12, endpoint=False)
    a = density([(0.3, 0.3), (0.7, 0.6)], 0.08)
    b = density([(0.5 + 0.3 * np.cos(x), 0.5 + 0.3 * np.sin(x)) for x in angles], 0.05)
    M = ((grid[:, None] - grid[None]) ** 2).sum(-1)
    return a, b, M, reg_fraction * float(M.mean())


def test_sns_converges_fast_with_light_bins_on_both_backends():
    a, b, M, reg = _light_bins_problem()
    out = {name: sinkhorn(conv(a), conv(b), conv(M), reg, method="sns", tol=1e-8, max_iter=400)
           for name, conv in BACKENDS.items()}
    ot, oj = out["torch"], out["jax"]
    assert ot.converged and oj.converged and ot.marginal_error <= 1e-8
    # 9 Newton steps after the 20 warm-up iterations; the plain top-K of P takes 23 (linear convergence)
    assert ot.n_newton <= 14, ot.n_newton
    assert (int(oj.n_newton), int(oj.n_iter)) == (ot.n_newton, ot.n_iter)
    assert np.abs(np.asarray(oj.plan) - ot.plan.numpy()).sum() <= 1e-10


def test_newton_loop_evaluates_each_iterate_once_and_records_the_last(monkeypatch):
    """The plan and error are evaluated right after each step: a converged iterate gets no direction (one
    top-K selection and Hessian build fewer than before), and with ``max_iter`` reached the history ends with
    the error of the returned plan (before: the error of the iterate before the last step)."""
    a, b, M, reg = _light_bins_problem()
    conv = torch.from_numpy
    calls = []
    direction = sns.newton_direction

    def counted(*args, **kwargs):
        calls.append(1)
        return direction(*args, **kwargs)

    monkeypatch.setattr(sns, "newton_direction", counted)
    out = sinkhorn(conv(a), conv(b), conv(M), reg, method="sns", tol=1e-8, max_iter=400)
    assert out.converged and len(calls) == out.n_newton == out.n_iter - 20
    assert len(out.history) == out.n_iter + 1
    capped = sinkhorn(conv(a), conv(b), conv(M), reg, method="sns", tol=1e-8, max_iter=23)
    assert not capped.converged and (capped.n_iter, capped.n_newton) == (23, 3)
    assert len(capped.history) == 24
    np.testing.assert_allclose(float(capped.history[-1]), float(capped.marginal_error), rtol=1e-12)
    np.testing.assert_array_equal(capped.history.numpy(), out.history.numpy()[:24])


def test_marginal_scaled_shift_speeds_up_light_bins_on_both_backends():
    """The shift ``mu ||grad||_1 / (2 mass) (a, b)`` (Marquardt's scaling by the diagonal the plan tends to) in
    place of ``mu ||grad||_1 / (n + m)`` for every row and column, which is the same on uniform marginals with
    ``n = m`` but exceeds the light bins' diagonal by orders of magnitude and damps their steps: 52 Newton steps
    here at reg = 0.002 mean(M) with the unscaled shift, 34 scaled (on the squared-L2 digits of ``run.py``: 27 and
    13)."""
    a, b, M, reg = _light_bins_problem(reg_fraction=0.002)
    out = {name: sinkhorn(conv(a), conv(b), conv(M), reg, method="sns", tol=1e-8, max_iter=400)
           for name, conv in BACKENDS.items()}
    ot, oj = out["torch"], out["jax"]
    assert ot.converged and oj.converged
    assert ot.n_newton <= 40, ot.n_newton
    assert (int(oj.n_newton), int(oj.n_iter)) == (ot.n_newton, ot.n_iter)
    assert np.abs(np.asarray(oj.plan) - ot.plan.numpy()).sum() <= 1e-10
