"""OT solvers against exact plans and closed forms: two points, 1-D Gaussians, the LP as reg -> 0."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from scipy.stats import norm

from stochflow.bridge import cost_matrix, sinkhorn


def two_point_plan(p: float, q: float, M: np.ndarray, reg: float) -> np.ndarray:
    """The entropic plan between (p, 1-p) and (q, 1-q): P11 = x solves the optimality condition
    P11 P22 / (P12 P21) = exp(-(M11 + M22 - M12 - M21) / reg), a quadratic in x."""
    kappa = math.exp(-(M[0, 0] + M[1, 1] - M[0, 1] - M[1, 0]) / reg)
    qa, qb, qc = 1 - kappa, 1 - p - q + kappa * (p + q), -kappa * p * q
    lo, hi = max(0.0, p + q - 1), min(p, q)
    if abs(qa) < 1e-15:
        x = -qc / qb
    else:
        roots = np.roots([qa, qb, qc]).real
        x = next(r for r in roots if lo <= r <= hi)
    return np.array([[x, p - x], [q - x, 1 - p - q + x]])


@pytest.mark.parametrize("method", ["log", "sns"])
@pytest.mark.parametrize("reg", [0.05, 0.5, 5.0])
def test_two_point_plan_closed_form(method, reg):
    p, q = 0.3, 0.65
    M = np.array([[0.0, 1.0], [0.7, 0.2]])
    ref = two_point_plan(p, q, M, reg)
    out = sinkhorn(np.array([p, 1 - p]), np.array([q, 1 - q]), M, reg, method=method, tol=1e-13)
    assert out.converged
    np.testing.assert_allclose(out.plan, ref, atol=1e-12)
    assert out.cost == pytest.approx(float((ref * M).sum()), abs=1e-12)


@pytest.mark.parametrize("method", ["log", "sns"])
def test_one_dimensional_gaussian_closed_form(method):
    """Entropic OT between N(0, 1) and N(2, 1.5^2) for |x - y|^2 (Janati et al. 2020, Mallasto et al.
    2021): the plan's cross-covariance is c = (sqrt(reg^2 + 16 A B) - reg) / 4. The marginals are
    represented by n quantile points (variances A, B of those points)."""
    n = 200
    u = (np.arange(n) + 0.5) / n
    x, y = norm.ppf(u), 2.0 + 1.5 * norm.ppf(u)
    A, B = x.var(), y.var()
    M = (x[:, None] - y[None]) ** 2
    for reg in (0.5, 2.0):
        out = sinkhorn(None, None, M, reg, method=method, tol=1e-10)
        c = float((out.plan * np.outer(x - x.mean(), y - y.mean())).sum())
        exact = (math.sqrt(reg**2 + 16 * A * B) - reg) / 4
        assert c == pytest.approx(exact, rel=1e-3)
        # and clearly away from the unregularised value sqrt(A B)
        assert abs(c - math.sqrt(A * B)) > 20 * abs(c - exact)


def _lp(a: np.ndarray, b: np.ndarray, M: np.ndarray) -> tuple[float, np.ndarray]:
    n, m = M.shape
    rows = np.kron(np.eye(n), np.ones(m))
    cols = np.kron(np.ones(n), np.eye(m))
    res = linprog(M.ravel(), A_eq=np.vstack([rows, cols]), b_eq=np.concatenate([a, b]), bounds=(0, None),
                  method="highs")
    assert res.success
    return float(res.fun), res.x.reshape(n, m)


@pytest.mark.parametrize("method", ["log", "sns"])
def test_small_reg_approaches_exact_lp(method):
    rng = np.random.default_rng(3)
    n, m = 7, 9
    a, b = rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, m)
    a, b = a / a.sum(), b / b.sum()
    M = cost_matrix(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)))
    lp_cost, lp_plan = _lp(a, b, M)
    errs = []
    for frac in (0.1, 0.02, 0.004):
        reg = frac * M.mean()
        out = sinkhorn(a, b, M, reg, method=method, tol=1e-11, max_iter=100_000)
        assert out.converged
        # <P, M> - LP <= reg * (H(P_lp) - H(P)) <= reg * log(n m)
        assert lp_cost - 1e-10 <= out.cost <= lp_cost + reg * math.log(n * m)
        errs.append(np.abs(out.plan - lp_plan).sum())
    assert errs[-1] < 1e-3 and errs[0] > errs[1] > errs[2]


@pytest.mark.parametrize("method", ["log", "sns"])
def test_float32_is_safe_in_the_log_domain(method):
    """float32 at a small reg: finite, converged to tol 1e-4, and close to the float64 plan."""
    n = 50
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 2.0
    M = cost_matrix(x, y)
    reg = 0.01 * M.mean()   # exp(-M/reg) underflows in float32 (exp(-100)) outside the log domain
    assert np.exp(-M / reg).astype(np.float32).min() == 0
    ref = sinkhorn(None, None, M, reg, method="sns", tol=1e-12).plan
    out = sinkhorn(None, None, torch.tensor(M, dtype=torch.float32), reg, method=method, tol=1e-4, max_iter=20_000)
    assert out.plan.dtype == torch.float32 and torch.isfinite(out.plan).all()
    assert out.converged and out.marginal_error <= 1e-4
    assert np.abs(out.plan.double().numpy() - ref).sum() < 1e-3


def test_sns_needs_far_fewer_iterations_than_log_sinkhorn_at_small_reg():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), 0.7 * rng.normal(size=(60, 3)) + 1.0
    M = cost_matrix(x, y)
    reg = 0.02 * M.mean()
    log = sinkhorn(None, None, M, reg, method="log", tol=1e-8, max_iter=20_000)
    sns = sinkhorn(None, None, M, reg, method="sns", tol=1e-8, max_iter=20_000)
    assert log.converged and sns.converged
    assert log.n_iter > 500
    assert 10 * sns.n_iter < log.n_iter
    assert np.abs(sns.plan - log.plan).sum() < 1e-7   # two plans each within 1e-8 of the marginals


def test_regot_ssns_parity():
    regot = pytest.importorskip("regot")
    rng = np.random.default_rng(2)
    n = 50
    M = cost_matrix(rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 1.0)
    a = rng.uniform(0.5, 1.5, n)
    a /= a.sum()
    b = np.full(n, 1 / n)
    ref = regot.sinkhorn_ssns(np.asfortranarray(M), a, b, 0.05, tol=1e-11, max_iter=1000).plan
    out = sinkhorn(a, b, M, 0.05, method="sns", tol=1e-11)
    np.testing.assert_allclose(out.plan, ref, atol=1e-9 * ref.max())


@pytest.mark.parametrize("method", ["log", "sns"])
def test_batch_equals_separate_problems(method):
    rng = np.random.default_rng(4)
    B, n, m = 3, 15, 12
    M = rng.uniform(size=(B, n, m))
    a, b = rng.uniform(0.5, 1.5, (B, n)), rng.uniform(0.5, 1.5, (B, m))
    a, b = a / a.sum(-1, keepdims=True), b / b.sum(-1, keepdims=True)
    reg = np.array([0.05, 0.1, 0.02])
    out = sinkhorn(torch.tensor(a), torch.tensor(b), torch.tensor(M), torch.tensor(reg), method=method, tol=1e-11)
    assert out.plan.shape == (B, n, m) and bool(out.converged.all())
    for i in range(B):
        one = sinkhorn(a[i], b[i], M[i], float(reg[i]), method=method, tol=1e-11)
        np.testing.assert_allclose(out.plan[i].numpy(), one.plan, atol=1e-10)
        assert int(out.n_iter[i]) == one.n_iter


def test_unbalanced_matches_pot():
    import ot

    rng = np.random.default_rng(6)
    n, m = 20, 25
    a, b = rng.uniform(0.5, 1.5, n) / n, 2.0 * rng.uniform(0.5, 1.5, m) / m   # different masses
    M = cost_matrix(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)))
    reg, reg_m = 0.1, 1.0
    ref = ot.unbalanced.sinkhorn_unbalanced(a, b, M, reg, reg_m, method="sinkhorn", reg_type="entropy",
                                            numItermax=100_000, stopThr=1e-14)
    out = sinkhorn(a, b, M, reg, method="log", reg_m=reg_m, tol=1e-13, max_iter=100_000)
    assert out.converged
    np.testing.assert_allclose(out.plan, ref, atol=1e-9 * ref.max())


def test_jax_matches_numpy_and_runs_under_jit():
    import jax

    rng = np.random.default_rng(7)
    M = cost_matrix(rng.normal(size=(30, 2)), rng.normal(size=(25, 2)))
    ref = sinkhorn(None, None, M, 0.1, method="sns", tol=1e-10)

    @jax.jit
    def cost(Mj):
        return sinkhorn(None, None, Mj, 0.1, method="sns", tol=1e-10).cost

    assert float(cost(jnp.asarray(M))) == pytest.approx(float(ref.cost), abs=1e-10)
