"""Work–precision: strong error against wall time for Euler, Milstein and SRK on GBM.

GBM (mu=0.5, sigma=0.8), y0 = 1, T = 1, float64, ``B`` independent scalar paths. For each library,
method and number of steps ``N``: the median wall time of one solve (its own Brownian object
built inside the timed region; JAX compile excluded by a warm-up call) and the strong error
``E|Y_N - Y_T|`` against the exact solution from the same Brownian path's ``W_T``.

* stochflow (torch, JAX): ``BrownianPath`` on the solve's grid (``levy_area="space-time"`` for srk).
* torchsde: ``BrownianInterval`` (space-time Lévy area for srk).
* diffrax: ``VirtualBrownianTree`` (``tol = dt/2``), one scalar path per solve under ``jax.vmap``;
  ``Euler`` and ``ItoMilstein``. diffrax has no
  strong-order-1.5 solver for diagonal noise (its SRA1/ShARK are additive-noise methods).

Called by ``run.py``; run alone with ``python packages/sde/benchmarks/work_precision.py [--quick]``.
"""

from __future__ import annotations

import importlib.util
import math
import statistics
import sys
import time

import numpy as np
import torch

import stochflow.sde as sde

MU, SIGMA = 0.5, 0.8
METHODS = ("euler", "milstein", "srk")


def _median(fn, repeats):
    fn()
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _exact(w_t):
    return np.exp((MU - 0.5 * SIGMA**2) + SIGMA * np.asarray(w_t, dtype=np.float64))


def stochflow_torch(method, n, batch, seed=0):
    gbm = sde.GBM(MU, SIGMA)
    y0 = torch.ones(batch, 1, dtype=torch.float64)
    grid = np.linspace(0.0, 1.0, n + 1)

    def run():
        bm = sde.BrownianPath(grid, (batch, 1), seed=seed, dtype=torch.float64,
                              levy_area="space-time" if method == "srk" else None)
        return sde.solve(gbm, y0, [0.0, 1.0], method, 1.0 / n, brownian=bm)[-1], bm(0.0, 1.0)
    return run


def stochflow_jax(method, n, batch, seed=0):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    gbm = sde.GBM(MU, SIGMA)
    y0 = jnp.ones((batch, 1), jnp.float64)
    grid = np.linspace(0.0, 1.0, n + 1)

    def run():
        bm = sde.BrownianPath(grid, (batch, 1), seed=seed, dtype=jnp.float64, backend="jax",
                              levy_area="space-time" if method == "srk" else None)
        y = sde.solve(gbm, y0, [0.0, 1.0], method, 1.0 / n, brownian=bm)[-1].block_until_ready()
        return y, bm(0.0, 1.0)
    return run


class TorchsdeGBM(torch.nn.Module):
    """GBM in torchsde's interface (drift ``f``, diagonal diffusion ``g``); also used by ``run.py``."""

    noise_type, sde_type = "diagonal", "ito"

    def f(self, t, y):
        return MU * y

    def g(self, t, y):
        return SIGMA * y


def torchsde_case(method, n, batch, seed=0):
    import torchsde

    model = TorchsdeGBM()
    y0 = torch.ones(batch, 1, dtype=torch.float64)
    ts = torch.tensor([0.0, 1.0], dtype=torch.float64)

    def run():
        bm = torchsde.BrownianInterval(0.0, 1.0, (batch, 1), dtype=torch.float64, entropy=seed,
                                       levy_area_approximation="space-time" if method == "srk" else "none")
        return torchsde.sdeint(model, y0, ts, bm=bm, method=method, dt=1.0 / n)[-1], bm(0.0, 1.0)
    return run


def diffrax_case(method, n, batch, seed=0):
    import diffrax
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    if method == "srk":
        return None
    solver = diffrax.Euler() if method == "euler" else diffrax.ItoMilstein()
    dt = 1.0 / n

    def one(key):
        # one scalar path per solve, vmapped over paths: diffrax's Milstein forms the diffusion's
        # full Jacobian, which for a batch flattened into the state would be (batch x batch x batch)
        bm = diffrax.VirtualBrownianTree(0.0, 1.0, tol=dt / 2, shape=(), key=key)
        terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: MU * y),
                                  diffrax.ControlTerm(lambda t, y, a: SIGMA * y, bm))
        y = diffrax.diffeqsolve(terms, solver, 0.0, 1.0, dt, jnp.asarray(1.0, jnp.float64),
                                saveat=diffrax.SaveAt(t1=True), max_steps=n + 1).ys[-1]
        return y, bm.evaluate(0.0, 1.0)

    solve = jax.jit(jax.vmap(one))

    def run():
        y, w = solve(jax.random.split(jax.random.PRNGKey(seed), batch))
        return y.block_until_ready(), w
    return run


def run(quick: bool = False) -> str:
    """Measure and return the markdown section."""
    batch = 1000 if quick else 4000
    steps = (8, 32, 128) if quick else (8, 16, 32, 64, 128, 256)
    repeats = 3
    libs = [("stochflow (torch)", stochflow_torch), ("stochflow (jax)", stochflow_jax)]
    if importlib.util.find_spec("torchsde"):
        libs.append(("torchsde", torchsde_case))
    if importlib.util.find_spec("diffrax"):
        libs.append(("diffrax (VirtualBrownianTree)", diffrax_case))
    rows = []
    for method in METHODS:
        for lib, make in libs:
            for n in steps:
                fn = make(method, n, batch)
                if fn is None:
                    continue
                sec, (y, w) = _median(fn, repeats)
                y = np.asarray(y.detach() if hasattr(y, "detach") else y, dtype=np.float64).reshape(-1)
                err = float(np.abs(y - _exact(w).reshape(-1)).mean())
                rows.append((method, lib, n, sec, err))
                print(f"work-precision {method} {lib} N={n}: {sec:.4f}s error {err:.3e}", file=sys.stderr)
    lines = [
        f"## Work–precision: GBM strong error vs wall time ({batch} paths, float64, median of {repeats})", "",
        "Strong error `E|Y_N - Y_T|` against the exact solution from each library's own Brownian path "
        "(so errors of one method agree across libraries up to Monte Carlo noise); time of one solve "
        "including building its Brownian object, JAX compile excluded. diffrax has no strong-1.5 "
        "solver for diagonal noise, so `srk` is stochflow and torchsde only.", "",
        "| method | library | steps | median s | strong error | fitted order |", "|---|---|---|---|---|---|",
    ]
    for method in METHODS:
        for lib, _ in libs:
            mine = [r for r in rows if r[0] == method and r[1] == lib]
            if not mine:
                continue
            ns = np.array([r[2] for r in mine], dtype=float)
            es = np.array([r[4] for r in mine])
            order = float(np.polyfit(np.log(1 / ns), np.log(es), 1)[0]) if len(mine) > 1 else math.nan
            for k, (_, _, n, sec, err) in enumerate(mine):
                lines.append(f"| {method} | {lib} | {n} | {sec:.4f} | {err:.3e} | "
                             f"{f'{order:.2f}' if k == 0 else ''} |")
    # error reached per second: at the finest common step count, time ratio to stochflow (torch)
    lines += ["", f"Time ratio to stochflow (torch) at {steps[-1]} steps:", "",
              "| method | library | ratio |", "|---|---|---|"]
    for method in METHODS:
        base = [r for r in rows if r[0] == method and r[1] == "stochflow (torch)" and r[2] == steps[-1]]
        for r in rows:
            if r[0] == method and r[2] == steps[-1] and base:
                lines.append(f"| {method} | {r[1]} | {r[3] / base[0][3]:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    torch.set_num_threads(1)
    print(run("--quick" in sys.argv))
