"""Property tests (hypothesis): on random small problems both methods converge to one plan with the
right marginals; random bad marginals always raise InputError."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stochflow.bridge import sinkhorn
from stochflow.core.errors import InputError

problems = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**31 - 1),
                     st.floats(0.05, 2.0))


@settings(max_examples=30, deadline=None)
@given(problems)
def test_methods_agree_and_meet_the_marginals(p):
    n, m, seed, reg = p
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.1, 1.0, n), rng.uniform(0.1, 1.0, m)
    a, b = a / a.sum(), b / b.sum()
    M = rng.uniform(0, 1, (n, m))
    log = sinkhorn(a, b, M, reg, method="log", tol=1e-11, max_iter=50_000)
    sns = sinkhorn(a, b, M, reg, method="sns", tol=1e-11, max_iter=50_000)
    for out in (log, sns):
        assert out.converged and out.marginal_error <= 1e-11
        np.testing.assert_allclose(out.plan.sum(1), a, atol=1e-11)
        np.testing.assert_allclose(out.plan.sum(0), b, atol=1e-11)
    np.testing.assert_allclose(log.plan, sns.plan, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31 - 1), st.sampled_from(["negative", "mass", "nan"]))
def test_bad_marginals_raise(n, seed, kind):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.1, 1.0, n), rng.uniform(0.1, 1.0, n)
    a, b = a / a.sum(), b / b.sum()
    if kind == "negative":
        a[rng.integers(n)] = -0.1
    elif kind == "mass":
        b = b * rng.uniform(1.01, 3.0)
    else:
        b[rng.integers(n)] = np.nan
    try:
        sinkhorn(a, b, np.ones((n, n)), 0.1)
    except InputError as exc:
        assert len(str(exc)) > 20
    else:
        raise AssertionError("bad marginals were accepted")
