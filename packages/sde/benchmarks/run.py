"""Side-by-side benchmark of stochflow-sde against torchsde, diffrax and hand-written floors.

Run ``python packages/sde/benchmarks/run.py [--quick]``; writes ``docs/benchmarks/sde.md``.
GBM (mu=0.5, sigma=0.8), Euler, 1000 steps on [0, 1], float32:

* stochflow torch (default fixed-grid path from ``seed``) vs a hand-written torch loop over
  increments drawn in one call (the floor) vs torchsde with its BrownianInterval;
* stochflow JAX (jitted ``lax.scan`` driver, path from ``seed``) vs a jitted ``lax.scan`` floor vs
  diffrax with UnsafeBrownianPath and with VirtualBrownianTree (compile excluded, reported apart);
* work–precision of Euler, Milstein and SRK against torchsde and diffrax (``work_precision.py``),
  and the Brownian tree's queries (``bench_brownian.py``, when present).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import stochflow.sde as sde

MU, SIGMA, STEPS = 0.5, 0.8, 1000
ROOT = Path(__file__).resolve().parents[3]


def _median_time(fn, repeats):
    fn()  # warm-up (and JIT compile)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def torch_cases(batch, d):
    y0 = torch.ones(batch, d)
    ts = torch.tensor([0.0, 1.0])
    dt = 1.0 / STEPS
    gbm = sde.GBM(MU, SIGMA)

    def ours():
        return sde.solve(gbm, y0, ts, "euler", dt, seed=0)

    def floor():
        g = torch.Generator().manual_seed(0)
        dw = torch.randn(STEPS, batch, d, generator=g) * math.sqrt(dt)
        y = y0
        for k in range(STEPS):
            y = y + MU * y * dt + SIGMA * y * dw[k]
        return y

    out = {"stochflow (torch)": ours, "torch floor": floor}
    if importlib.util.find_spec("torchsde"):
        import torchsde
        from work_precision import TorchsdeGBM  # a sibling script: this folder is on sys.path

        model = TorchsdeGBM()

        def ts_run():
            bm = torchsde.BrownianInterval(0.0, 1.0, (batch, d), dtype=y0.dtype, entropy=0)
            return torchsde.sdeint(model, y0, ts, bm=bm, method="euler", dt=dt)

        out["torchsde (BrownianInterval)"] = ts_run
    return out


def jax_cases(batch, d):
    import jax
    import jax.numpy as jnp

    y0 = jnp.ones((batch, d), jnp.float32)
    dt = 1.0 / STEPS
    gbm = sde.GBM(MU, SIGMA)
    out = {}

    @jax.jit
    def floor(y0, key):
        dw = jax.random.normal(key, (STEPS, batch, d), jnp.float32) * math.sqrt(dt)

        def body(y, w):
            return y + MU * y * dt + SIGMA * y * w, None

        return jax.lax.scan(body, y0, dw)[0]

    out["stochflow (jax)"] = lambda: sde.solve(gbm, y0, [0.0, 1.0], "euler", dt, seed=0).block_until_ready()
    out["lax.scan floor"] = lambda: floor(y0, jax.random.PRNGKey(0)).block_until_ready()
    if importlib.util.find_spec("diffrax"):
        import diffrax

        term_f = diffrax.ODETerm(lambda t, y, a: MU * y)

        def make(kind):
            @jax.jit
            def run(y0, key):
                import lineax as lx

                shape = (batch * d,)  # lineax's diagonal operator wants a vector state
                if kind == "unsafe":
                    bm = diffrax.UnsafeBrownianPath(shape=shape, key=key)
                else:
                    bm = diffrax.VirtualBrownianTree(0.0, 1.0, tol=dt / 2, shape=shape, key=key)
                diag = diffrax.ControlTerm(lambda t, y, a: lx.DiagonalLinearOperator(SIGMA * y), bm)
                terms = diffrax.MultiTerm(term_f, diag)
                return diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, 1.0, dt, y0.reshape(-1),
                                           saveat=diffrax.SaveAt(t1=True), max_steps=STEPS + 1,
                                           adjoint=diffrax.ForwardMode() if kind == "unsafe" else
                                           diffrax.RecursiveCheckpointAdjoint()).ys
            return lambda: run(y0, jax.random.PRNGKey(0)).block_until_ready()

        out["diffrax (UnsafeBrownianPath)"] = make("unsafe")
        out["diffrax (VirtualBrownianTree)"] = make("vbt")
    return out


def _compile_time(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one size (1024 x 10) and 3 repeats")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "sde.md"))
    args = p.parse_args(argv)
    sizes = [(1024, 10)] if args.quick else [(64, 1), (64, 10), (1024, 1), (1024, 10), (16384, 1)]
    repeats = 3
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    lines = [
        "# stochflow-sde benchmarks", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores ({platform.processor() or 'cpu'}), "
        f"Python {platform.python_version()}, torch {torch.__version__}"
        + (f", jax {__import__('jax').__version__}" if importlib.util.find_spec("jax") else "") + ". "
        "The machine is shared with other engineers' jobs, so timings carry noise of tens of percent. "
        "Sizes 16384 x 10 are left out: on this shared 2-core machine they took minutes per library.", "",
        f"Reproduce: `python packages/sde/benchmarks/run.py{' --quick' if args.quick else ''}` "
        "(or `nox -s bench -- sde`).", "",
        f"## GBM, Euler, {STEPS} steps, float32 (median of {repeats} runs, seconds; ratio to the floor)", "",
        "| batch x d | library | median s | path-steps/s | ratio to floor |",
        "|---|---|---|---|---|",
    ]
    compile_lines = []
    for batch, d in sizes:
        for cases, floor_name in ((torch_cases(batch, d), "torch floor"), (jax_cases(batch, d), "lax.scan floor")):
            if "jax" in floor_name or "scan" in floor_name:
                for name, fn in cases.items():
                    compile_lines.append(f"| {batch} x {d} | {name} | {_compile_time(fn):.3f} |")
            res = {}
            for name, fn in cases.items():
                if "VirtualBrownianTree" in name and batch * d > 20000:
                    continue  # minutes per run on this machine
                res[name] = _median_time(fn, repeats)
                print(f"{batch}x{d} {name}: {res[name]:.4f}s", file=sys.stderr)
            for name, sec in res.items():
                lines.append(f"| {batch} x {d} | {name} | {sec:.4f} | {batch * STEPS / sec:.3g} | "
                             f"{sec / res[floor_name]:.2f} |")
    lines += ["", "First call of each JAX case (compile + one run), seconds:", "",
              "| batch x d | library | first call s |", "|---|---|---|", *compile_lines, ""]
    for part in ("work_precision", "bench_brownian"):  # sections in sibling modules: run(quick) -> markdown
        path = Path(__file__).with_name(f"{part}.py")
        if path.exists():
            spec = importlib.util.spec_from_file_location(part, path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            lines += ["", mod.run(args.quick)]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
