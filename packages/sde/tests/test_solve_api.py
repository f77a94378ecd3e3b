"""solve(): backends, dtypes, seeds, gradients, jit, neural SDEs, processes' closed forms, bad input."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import stochflow.sde as sde
from stochflow.core.errors import InputError, InputTypeError
from stochflow.core.testing import check_plugin

TS = np.array([0.0, 0.5, 1.0])
GBM = sde.GBM(0.5, 0.8)


def test_conformance_of_every_entry():
    names = {e.name for e in check_plugin("stochflow-sde")}
    assert {"euler", "milstein", "heun", "midpoint", "euler-heun", "sra1", "rk4", "gbm", "sde", "srk",
            "reversible-heun", "dopri5", "virtual-brownian-tree", "brownian-path"} <= names


def test_registry_declarations_match_the_methods():
    from stochflow.core.registry import get_registry

    for entry in get_registry().list("solver"):
        if entry.plugin != "stochflow-sde":
            continue
        m = sde.get_method(entry.name)
        assert entry.order("weak") == m.weak and entry.order("strong") == m.strong
        assert tuple(entry.property("noise")) == m.noise


def test_import_core_does_not_import_torch_or_jax():
    code = "import sys, stochflow.sde._plugin; print('torch' in sys.modules, 'jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_follows_input_and_seed_reproduces(dtype):
    y0 = torch.ones(8, 3, dtype=dtype)
    a = sde.solve(GBM, y0, TS, "euler", 0.1, seed=3)
    b = sde.solve(GBM, y0, TS, "euler", 0.1, seed=3)
    c = sde.solve(GBM, y0, TS, "euler", 0.1, seed=4)
    assert a.shape == (3, 8, 3) and a.dtype == dtype
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a[0], y0)


def test_jax_output_jit_and_grad():
    import jax
    import jax.numpy as jnp

    y0 = jnp.ones((8, 2), jnp.float64)
    ys = sde.solve(GBM, y0, TS, "milstein", 0.1, seed=1)
    assert isinstance(ys, jax.Array) and ys.shape == (3, 8, 2) and ys.dtype == jnp.float64
    jitted = jax.jit(lambda y: sde.solve(GBM, y, TS, "milstein", 0.1, seed=1))
    np.testing.assert_allclose(np.asarray(jitted(y0)), np.asarray(ys), rtol=1e-12)
    # d Y_T / d y0 for GBM is Y_T / y0 along each path
    grad = jax.grad(lambda y: sde.solve(GBM, y, TS, "euler", 0.1, seed=1)[-1].sum())(y0)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(sde.solve(GBM, y0, TS, "euler", 0.1, seed=1)[-1]),
                               rtol=1e-10)


def test_torch_backprop_through_neural_sde():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    neural = sde.SDE(drift=lambda t, y: net(y), diffusion=lambda t, y: 0.1 * torch.ones_like(y), noise="additive")
    y0 = torch.zeros(16, 2, dtype=torch.float64, requires_grad=True)
    loss = sde.solve(neural, y0, TS, "euler", 0.1, seed=0)[-1].pow(2).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    # gradient of the linear GBM: dY_T/dy0 = Y_T / y0
    y0 = torch.full((4, 1), 2.0, dtype=torch.float64, requires_grad=True)
    yT = sde.solve(GBM, y0, TS, "euler", 0.1, seed=2)[-1]
    yT.sum().backward()
    torch.testing.assert_close(y0.grad, yT.detach() / 2.0)


@pytest.mark.parametrize("noise", ["scalar", "general"])
def test_scalar_and_general_noise_shapes(noise):
    y0 = torch.ones(5, 3, dtype=torch.float64)
    if noise == "scalar":
        proc = sde.SDE(lambda t, y: -y, lambda t, y: 0.2 * y, noise="scalar")
    else:
        mix = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        proc = sde.SDE(lambda t, y: -y, lambda t, y: 0.2 * y[..., None] * mix, noise="general")
    ys = sde.solve(proc, y0, TS, "euler", 0.1, seed=0)
    assert ys.shape == (3, 5, 3) and torch.isfinite(ys).all()
    if noise == "scalar":  # one Brownian motion: the three coordinates move together
        torch.testing.assert_close(ys[-1, :, 0], ys[-1, :, 1])


def test_ou_moments_with_sra1():
    ou = sde.OrnsteinUhlenbeck(theta=1.5, mu=0.3, sigma=0.6)
    n = 20000
    y = sde.solve(ou, torch.full((n, 1), 1.0, dtype=torch.float64), TS, "sra1", 0.05, seed=8)[-1].ravel()
    m, v = ou.mean(1.0, 1.0), ou.variance(1.0, 1.0)
    assert abs(float(y.mean()) - m) < 4 * math.sqrt(v / n) + 1e-3  # sra1 bias at dt=0.05 is O(1e-4)
    assert abs(float(y.var()) - v) < 4 * v * math.sqrt(2 / n) + 1e-3


def test_cir_stays_non_negative_and_matches_its_mean():
    cir = sde.CIR(kappa=2.0, theta=0.04, sigma=0.3)  # Feller condition 2 kappa theta < sigma^2: hits zero
    n = 20000
    ys = sde.solve(cir, torch.full((n, 1), 0.02, dtype=torch.float64), np.linspace(0, 1, 11), "cir-implicit",
                   0.01, seed=9)
    assert (ys >= 0).all()
    m, v = cir.mean(0.02, 1.0), cir.variance(0.02, 1.0)
    assert abs(float(ys[-1].mean()) - m) < 4 * math.sqrt(v / n) + 2e-3


def test_underdamped_langevin_reaches_its_stationary_law():
    lang = sde.UnderdampedLangevin(gamma=2.0, k=1.0, temperature=0.5)
    n = 8000
    y = sde.solve(lang, torch.zeros(n, 2, dtype=torch.float64), [0.0, 8.0], "sra1", 0.05, seed=10)[-1]
    vx, vv = lang.stationary_variance()
    for got, want in ((y[:, 0].var(), vx), (y[:, 1].var(), vv)):
        assert abs(float(got) - want) < 4 * want * math.sqrt(2 / n) + 0.02


def test_brownian_motion_exact():
    bm = sde.BrownianMotion(mu=0.2, sigma=1.5)
    from stochflow.sde.convergence import strong_errors

    _, errs = strong_errors(bm, "euler", torch.zeros(10, 2, dtype=torch.float64), 1.0, [3, 4], seed=0)
    assert max(errs) < 1e-12  # Euler is exact for Brownian motion with drift


# ---------------------------------------------------------------- bad input, before any work
class _Counting:
    calls = 0

    def __call__(self, t, y):
        _Counting.calls += 1
        return y


def _y0():
    return torch.ones(4, 2, dtype=torch.float64)


def _on(backend, y):
    """``y`` (a torch tensor) as an array of ``backend``."""
    if backend == "torch" or not isinstance(y, torch.Tensor):
        return y
    import jax.numpy as jnp

    return jnp.asarray(y.numpy())


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("kwargs, match", [
    (dict(dt=0.0), "dt must be"),
    (dict(dt=-0.1), "dt must be"),
    (dict(dt=float("nan")), "dt must be"),
    (dict(ts=[0.0, 1.0, 0.5]), "strictly increasing"),
    (dict(ts=[0.0]), "at least two"),
    (dict(y0=torch.tensor([[1.0, float("nan")]], dtype=torch.float64)), "NaN or inf"),
    (dict(y0=torch.ones(2, 2, dtype=torch.int64)), "floating"),
    (dict(solver="nope"), "unknown solver"),
    (dict(solver="sra1"), "supports noise"),
    (dict(solver="heun"), "stratonovich"),
    (dict(solver="rk4"), "for ODEs"),
    (dict(solver="dopri5"), "for ODEs"),
    (dict(solver="srk", process=sde.SDE(lambda t, y: y, lambda t, y: y[..., None] * y[..., None, :],
                                        noise="general")), "supports noise"),
    (dict(solver="reversible-heun"), "stratonovich"),
    (dict(adaptive=True, rtol=0.0), "rtol"),
    (dict(adaptive=True, rtol=-1e-3), "rtol"),
    (dict(adaptive=True, rtol=float("nan")), "rtol"),
    (dict(adaptive=True, atol=-1.0), "atol"),
    (dict(adaptive=True, brownian=object()), "arbitrary intervals"),
    (dict(adaptive=True, brownian=sde.BrownianPath(np.linspace(0, 1, 11), (4, 2), seed=0)), "fixed-grid"),
    (dict(adjoint=True), "ODEs only"),
])
def test_bad_inputs_raise_input_error(kwargs, match, backend):
    args = dict(process=GBM, y0=_y0(), ts=[0.0, 1.0], solver="euler", dt=0.1)
    args.update(kwargs)
    if backend == "jax" and "brownian" in kwargs and hasattr(kwargs["brownian"], "grid"):
        args["brownian"] = sde.BrownianPath(np.linspace(0, 1, 11), (4, 2), seed=0, backend="jax")
    with pytest.raises(InputError, match=match):
        sde.solve(args.pop("process"), _on(backend, args.pop("y0")), args.pop("ts"), **args)


def test_adjoint_on_jax_points_to_jax_grad():
    import jax.numpy as jnp

    with pytest.raises(InputError, match="jax.grad"):
        sde.solve(sde.SDE(lambda t, y: -y), jnp.ones((4, 2)), [0.0, 1.0], "rk4", 0.1, adjoint=True)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_shape_mismatches_raise_before_stepping(backend):
    y0 = _on(backend, _y0())

    def three(y):  # a trailing axis of 3 on y, in y's own backend
        if isinstance(y, torch.Tensor):
            return y[..., None] * torch.ones(3, dtype=y.dtype)
        import jax.numpy as jnp

        return y[..., None] * jnp.ones(3, y.dtype)

    bad_drift = sde.SDE(lambda t, y: y[..., :1], lambda t, y: y)
    bad_diag = sde.SDE(lambda t, y: y, lambda t, y: three(y))
    bad_general = sde.SDE(lambda t, y: y, lambda t, y: y, noise="general")
    for proc, match in ((bad_drift, "drift"), (bad_diag, "noise='general'"), (bad_general, r"\(\*y.shape, m\)")):
        with pytest.raises(InputError, match=match):
            sde.solve(proc, y0, [0.0, 1.0], "euler", 0.1)
    with pytest.raises(InputError, match="milstein"):
        sde.solve(sde.SDE(lambda t, y: y, lambda t, y: three(y), noise="general"), y0, [0.0, 1.0], "milstein", 0.1)
    with pytest.raises(InputError, match="cir-implicit"):
        sde.solve(GBM, y0, [0.0, 1.0], "cir-implicit", 0.1)
    _Counting.calls = 0
    counting = sde.SDE(_Counting(), _Counting())
    with pytest.raises(InputError):
        sde.solve(counting, y0, [0.0, 1.0], "euler", -1.0)
    assert _Counting.calls == 0


def test_bad_types():
    with pytest.raises(InputTypeError, match="torch.Tensor or a jax.Array"):
        sde.solve(GBM, np.ones((2, 2)), [0.0, 1.0], "euler", 0.1)
    with pytest.raises(InputTypeError, match="SDE"):
        sde.solve(lambda t, y: y, _y0(), [0.0, 1.0], "euler", 0.1)
    with pytest.raises(InputTypeError, match="callable"):
        sde.SDE(drift=3.0)
    with pytest.raises(InputError, match="noise"):
        sde.SDE(lambda t, y: y, lambda t, y: y, noise="diag")
    with pytest.raises(InputError, match="kind"):
        sde.SDE(lambda t, y: y, lambda t, y: y, kind="ito-ish")
    with pytest.raises(InputError, match="sigma"):
        sde.GBM(sigma=-1.0)
    ode = sde.SDE(lambda t, y: -y)
    with pytest.raises(InputTypeError, match="PIDController"):
        sde.solve(ode, _y0(), [0.0, 1.0], "dopri5", adaptive=True, controller={"pcoeff": 0.1})
    with pytest.raises(InputTypeError, match="adjoint_params"):
        sde.solve(ode, _y0(), [0.0, 1.0], "rk4", 0.1, adjoint=True, adjoint_params=torch.ones(2))


@settings(max_examples=40, deadline=None)
@given(dt=st.one_of(st.floats(max_value=0.0), st.just(float("inf")), st.just(float("nan"))))
def test_fuzz_non_positive_dt(dt):
    with pytest.raises(InputError):
        sde.solve(GBM, _y0(), [0.0, 1.0], "euler", dt)


@settings(max_examples=30, deadline=None)
@given(ts=st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=6))
def test_fuzz_times(ts):
    arr = np.asarray(ts)
    if np.all(np.diff(arr) > 0):
        out = sde.solve(GBM, _y0(), arr, "euler", 0.5, seed=0)
        assert out.shape == (len(ts), 4, 2)
    else:
        with pytest.raises(InputError):
            sde.solve(GBM, _y0(), arr, "euler", 0.5)
