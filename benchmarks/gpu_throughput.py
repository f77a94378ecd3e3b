"""Throughput of stochflow's hot paths on one accelerator, each beside its anchor on the same device.

Run ``python benchmarks/gpu_throughput.py [--device cuda] [--quick]`` (or
``python3 -m nox -s bench -- gpu [--quick]``); writes ``docs/benchmarks/gpu.md``.

* SDE paths: ``stochflow.sde.solve`` on GBM (mu=0.5, sigma=0.8), Euler, 1000 steps on [0, 1],
  float32, batch 16384 x 10, torch beside torchsde and JAX beside diffrax;
* entropic OT: log-Sinkhorn and SNS between two 2-D Gaussian clouds of n = 2000 points, float32,
  reg = 0.05 mean(M), torch beside POT's ``sinkhorn_log`` on the torch backend, and JAX;
* diffusion sampling: DPM-Solver++(2M), 10 steps, 10^5 samples of a 2-D 8-mode mixture through its
  analytic score, beside diffusers' DPMSolverMultistepScheduler driven by the same score;
* exact Gillespie: ``stochflow.jump.simulate`` of 10^5 paths of a 3-state chain (no anchor runs on
  a GPU: gillespy2 and deeptime are CPU libraries).

``--device cuda`` falls back to the CPU, and says so on the page, when torch sees no GPU; JAX runs on
its default device (a GPU with a CUDA jaxlib). Times are medians of ``--repeats`` runs after one
warm-up (which also compiles the JAX programs); on CUDA every run ends with a synchronisation.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
MU, SIGMA = 0.5, 0.8


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median(fn, repeats: int, sync) -> float:
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _load() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "unknown"


# -- cases: each returns rows (case, implementation, size, seconds, throughput, unit) -----------


def sde_torch(device, size, repeats):
    import stochflow.sde as sde

    batch, d, steps = size
    y0 = torch.ones(batch, d, device=device)
    ts = torch.tensor([0.0, 1.0], device=device)
    dt = 1.0 / steps
    impls = {"stochflow.sde.solve (torch)": lambda: sde.solve(sde.GBM(MU, SIGMA), y0, ts, "euler", dt, seed=0)}
    if importlib.util.find_spec("torchsde"):
        import torchsde

        sys.path.insert(0, str(ROOT / "packages" / "sde" / "benchmarks"))
        import work_precision as wp  # the sde benchmarks' GBM in torchsde's interface

        assert (wp.MU, wp.SIGMA) == (MU, SIGMA), "the torchsde GBM must be the process stochflow solves"
        model = wp.TorchsdeGBM()

        def anchor():
            bm = torchsde.BrownianInterval(0.0, 1.0, (batch, d), dtype=y0.dtype, device=device, entropy=0)
            return torchsde.sdeint(model, y0, ts, bm=bm, method="euler", dt=dt)

        impls["torchsde.sdeint (BrownianInterval)"] = anchor
    return [("SDE paths, GBM Euler", name, f"{batch} x {d}, {steps} steps", sec, batch * d * steps / sec,
             "path-steps/s") for name, sec in ((n, _median(f, repeats, lambda: _sync(device))) for n, f in impls.items())]


def sde_jax(size, repeats):
    import jax
    import jax.numpy as jnp

    import stochflow.sde as sde

    batch, d, steps = size
    dt = 1.0 / steps
    y0 = jnp.ones((batch, d), jnp.float32)
    impls = {"stochflow.sde.solve (jax)": lambda: sde.solve(sde.GBM(MU, SIGMA), y0, [0.0, 1.0], "euler", dt,
                                                            seed=0).block_until_ready()}
    if importlib.util.find_spec("diffrax") and importlib.util.find_spec("lineax"):
        import diffrax
        import lineax as lx

        @jax.jit
        def run(y0, key):
            shape = (batch * d,)
            bm = diffrax.UnsafeBrownianPath(shape=shape, key=key)
            terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: MU * y),
                                      diffrax.ControlTerm(lambda t, y, a: lx.DiagonalLinearOperator(SIGMA * y), bm))
            return diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, 1.0, dt, y0.reshape(-1),
                                       saveat=diffrax.SaveAt(t1=True), max_steps=steps + 1,
                                       adjoint=diffrax.ForwardMode()).ys

        impls["diffrax.diffeqsolve (UnsafeBrownianPath)"] = lambda: run(y0, jax.random.PRNGKey(0)).block_until_ready()
    return [("SDE paths, GBM Euler", name, f"{batch} x {d}, {steps} steps", sec, batch * d * steps / sec,
             "path-steps/s") for name, sec in ((n, _median(f, repeats, lambda: None)) for n, f in impls.items())]


def _clouds(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g) * 0.7 + torch.tensor([1.0, 0.5])


def ot_torch(device, n, repeats):
    from stochflow.bridge import cost_matrix, sinkhorn

    x, y = (t.to(device) for t in _clouds(n, 0))
    M = cost_matrix(x, y)
    reg = 0.05 * float(M.mean())
    a = torch.full((n,), 1.0 / n, device=device)
    tol = 1e-5
    rows, iters = [], {}

    def ours(method):
        def run():
            out = sinkhorn(a, a, M, reg, method=method, tol=tol)
            iters[method] = (int(out.n_iter), float(out.marginal_error))
        return run

    impls = {"stochflow.bridge.sinkhorn log (torch)": ours("log"), "stochflow.bridge.sinkhorn sns (torch)": ours("sns")}
    if importlib.util.find_spec("ot"):
        import ot

        def pot():
            P, log = ot.sinkhorn(a, a, M, reg, method="sinkhorn_log", stopThr=tol, numItermax=10_000, log=True,
                                 warn=False)
            iters["pot"] = (int(log.get("niter", -1)), float((P.sum(1) - a).abs().sum() + (P.sum(0) - a).abs().sum()))

        impls["POT ot.sinkhorn sinkhorn_log (torch backend)"] = pot
    for name, fn in impls.items():
        sec = _median(fn, repeats, lambda: _sync(device))
        key = "log" if " log " in name else "sns" if " sns " in name else "pot"
        it, err = iters[key]
        rows.append((f"entropic OT, tol {tol:g}", name, f"n = {n}, {it} iterations, marginal error {err:.1e}", sec,
                     it / sec, "iterations/s"))
    return rows


def ot_jax(n, repeats):
    import jax.numpy as jnp

    from stochflow.bridge import cost_matrix, sinkhorn

    x, y = (jnp.asarray(t.numpy()) for t in _clouds(n, 0))
    M = cost_matrix(x, y)
    reg = 0.05 * float(M.mean())
    tol = 1e-5
    rows, iters = [], {}

    def ours(method):
        def run():
            out = sinkhorn(None, None, M, reg, method=method, tol=tol)
            out.plan.block_until_ready()
            iters[method] = (int(out.n_iter), float(out.marginal_error))
        return run

    for method in ("log", "sns"):
        sec = _median(ours(method), repeats, lambda: None)
        it, err = iters[method]
        rows.append((f"entropic OT, tol {tol:g}", f"stochflow.bridge.sinkhorn {method} (jax)",
                     f"n = {n}, {it} iterations, marginal error {err:.1e}", sec, it / sec, "iterations/s"))
    return rows


def _ring():
    from stochflow.diffusion.testing import GaussianMixture

    ang = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    return GaussianMixture(1 + torch.arange(8) % 3, 3 * torch.stack([ang.cos(), ang.sin()], 1),
                           torch.full((8,), 0.15**2))


def diffusion(device, n, repeats):
    import stochflow.diffusion as sfd

    gm, vp = _ring(), sfd.VPSDE()
    score = gm.score_fn(vp)
    impls = {"stochflow.diffusion.sample dpm-solver++2m": lambda: sfd.sample(
        score, vp, (n, 2), solver="dpm-solver++2m", steps=10, seed=0, device=device).samples}
    if importlib.util.find_spec("diffusers"):
        import diffusers

        def anchor():
            sched = diffusers.DPMSolverMultistepScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02,
                                                          beta_schedule="linear", solver_order=2)
            sched.set_timesteps(10, device=device)
            acp = sched.alphas_cumprod.to(device)
            g = torch.Generator(device=device).manual_seed(0)
            x = torch.randn(n, 2, generator=g, device=device)
            for t in sched.timesteps:
                a, s = acp[t].sqrt(), (1 - acp[t]).sqrt()
                x = sched.step(-s * gm.score_at(x, a, s), t, x).prev_sample
            return x

        impls["diffusers DPMSolverMultistepScheduler (2M)"] = anchor
    return [("diffusion sampling, 10 steps", name, f"{n} samples, 2-D", sec, n / sec, "samples/s")
            for name, sec in ((k, _median(f, repeats, lambda: _sync(device))) for k, f in impls.items())]


def gillespie(device, n, repeats):
    from stochflow.jump import simulate

    Q = torch.tensor([[-1.0, 0.7, 0.3], [0.4, -0.9, 0.5], [0.2, 0.6, -0.8]], dtype=torch.float64, device=device)
    p0 = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64, device=device)
    jumps = {}

    def run():
        paths = simulate(Q, p0, n_paths=n, t_max=5.0, seed=0)
        jumps["n"] = int(paths.n_jumps.sum())

    sec = _median(run, repeats, lambda: _sync(device))
    return [("exact Gillespie, 3 states, t_max 5", "stochflow.jump.simulate", f"{n} paths, {jumps['n']} jumps", sec,
             jumps["n"] / sec, "jumps/s")]


# -- page ---------------------------------------------------------------------------------------


def device_line(device: torch.device) -> str:
    from stochflow.core.machine import describe

    line = describe("torch", "jax", "jaxlib")
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        line = (f"**GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}**; host: " + line)
    else:
        line = "**CPU only** (no GPU); " + line
    try:
        import jax

        line += "; JAX default device: " + ", ".join(sorted({str(dv.platform) for dv in jax.devices()}))
    except ImportError:
        pass
    return line


def write_page(path: Path, device: torch.device, wanted: str, rows, skipped, quick: bool, cmd: str, load_start: str,
               sizes: dict) -> None:
    lines = ["# GPU throughput", ""]
    if device.type != "cuda":
        lines += ["!!! warning \"No GPU figures yet\"",
                  f"    This page was written on the CPU (`--device {wanted}` found no CUDA device"
                  f"{', at the `--quick` sizes' if quick else ''}): the figures below are CPU figures that prove the "
                  "benchmark runs, not GPU figures. No GPU was lent to the session that wrote it, so the GPU "
                  "figures are **not measured yet**. On a machine with CUDA (and a CUDA build of torch; a CUDA "
                  "jaxlib for the JAX rows) run", "",
                  "    ```bash",
                  "    python3 -m nox -s bench -- gpu          # or: python benchmarks/gpu_throughput.py --device cuda",
                  "    ```", "",
                  "    and commit the page it writes.", ""]
    lines += ["Throughput of stochflow's hot paths, each beside its anchor run on the same device in the same run "
              "(`benchmarks/gpu_throughput.py`; its docstring gives the problems). Times are medians after one "
              "warm-up that also compiles the JAX programs; CUDA runs end with a synchronisation.", "",
              f"- Machine: {device_line(device)}.",
              f"- torch device: `{device}`; load average at start {load_start}, at end {_load()}.",
              f"- Sizes: {', '.join(f'{k} {v}' for k, v in sizes.items())}.",
              f"- Command: `{cmd}`.", "",
              "| case | implementation | size | time (s) | throughput | unit |", "|---|---|---|---:|---:|---|"]
    for case, name, size, sec, thr, unit in rows:
        lines.append(f"| {case} | {name} | {size} | {sec:.4f} | {thr:.3g} | {unit} |")
    if skipped:
        lines += ["", "Not run: " + "; ".join(skipped) + "."]
    lines += ["", "Ratios between rows of one case are the comparable figures (one run, same load). POT stops on its "
              "own criterion, hence its marginal error. Gillespie has no device anchor: gillespy2 and deeptime "
              "simulate on the CPU.", ""]
    path.write_text("\n".join(lines))


FULL = {"sde": (16384, 10, 1000), "ot": 2000, "diffusion": 100_000, "gillespie": 100_000}
QUICK = {"sde": (1024, 10, 100), "ot": 300, "diffusion": 5000, "gillespie": 5000}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="torch device (default cuda; the CPU when none is found)")
    p.add_argument("--quick", action="store_true", help="small sizes, to check that everything runs")
    p.add_argument("--repeats", type=int, default=None, help="timed runs per row (median); default 5, 2 with --quick")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: every core)")
    p.add_argument("--sections", default="sde,ot,diffusion,gillespie")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "gpu.md"))
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: running on the CPU (the page says so)", file=sys.stderr)
        device = torch.device("cpu")
    torch.set_num_threads(args.threads or max(1, os.cpu_count() or 1))
    sizes = QUICK if args.quick else FULL
    repeats = args.repeats or (2 if args.quick else 5)
    load_start = _load()
    has_jax = importlib.util.find_spec("jax") is not None
    rows, skipped = [], []
    sections = set(args.sections.split(","))
    steps = []
    if "sde" in sections:
        steps.append(("SDE torch", lambda: sde_torch(device, sizes["sde"], repeats)))
        steps.append(("SDE jax", lambda: sde_jax(sizes["sde"], repeats)) if has_jax else ("SDE jax", None))
    if "ot" in sections:
        steps.append(("OT torch", lambda: ot_torch(device, sizes["ot"], repeats)))
        steps.append(("OT jax", lambda: ot_jax(sizes["ot"], repeats)) if has_jax else ("OT jax", None))
    if "diffusion" in sections:
        steps.append(("diffusion", lambda: diffusion(device, sizes["diffusion"], repeats)))
    if "gillespie" in sections:
        steps.append(("Gillespie", lambda: gillespie(device, sizes["gillespie"], repeats)))
    for label, fn in steps:
        if fn is None:
            skipped.append(f"{label} (jax not installed)")
            continue
        try:
            got = fn()
        except ImportError as exc:
            skipped.append(f"{label} ({exc.name} not installed)")
            continue
        for row in got:
            print(f"{row[0]} | {row[1]} | {row[2]}: {row[3]:.4f}s", file=sys.stderr, flush=True)
        rows += got
    cmd = "python benchmarks/gpu_throughput.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    size_text = {"SDE": "{} x {}, {} steps".format(*sizes["sde"]), "OT n": sizes["ot"],
                 "diffusion samples": sizes["diffusion"], "Gillespie paths": sizes["gillespie"]}
    write_page(Path(args.out), device, args.device, rows, skipped, args.quick, cmd, load_start, size_text)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
