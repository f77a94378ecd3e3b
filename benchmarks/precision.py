"""How much precision each solver gives up in float32 (and bfloat16), measured beside float64.

Run ``python benchmarks/precision.py [--quick]``; writes ``docs/benchmarks/precision.md``.
``integration_tests/test_precision.py`` asserts the page's float32 claims for the SDE solvers and
entropic OT at small sizes.

* SDE solvers: each registered method on a problem it applies to (GBM in Itô or Stratonovich form,
  an additive-noise Ornstein-Uhlenbeck process for ``sra1``, CIR for ``cir-implicit``, a linear ODE
  for ``rk4``/``dopri5``), one float64 Brownian path per run whose increments (and Lévy areas) are
  cast to the low precision, so both precisions see the same noise. Reported: the float64
  discretisation error (against the exact solution, or the same method on a 16x finer grid of the
  same path) and the rounding error ``rms(y_low - y_64) / rms(y_64)`` at ``T = 1``.
* Entropic OT (``sinkhorn``, ``"log"`` and ``"sns"``): two 2-D clouds, reg = 0.05 mean(M); float32
  at its default tolerance against a float64 solve to 1e-10 (marginal error reached, relative cost
  error), and the smallest marginal error float32 reaches when asked for 1e-9.
* Diffusion samplers: 10 steps on a 2-D 8-mode mixture through its analytic score from one float64
  prior draw (cast for float32): the rounding difference of the deterministic samplers and the
  sliced W2 of both precisions to exact samples.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
MU, SIGMA = 0.5, 0.8
LOW = {"float32": torch.float32, "bfloat16": torch.bfloat16}
DEEP_ITER = 400  # iterations float32 OT gets to approach tol 1e-9


# -- SDE solvers --------------------------------------------------------------------------------


class CastPath:
    """A float64 Brownian path read in another dtype: both precisions of a solve see one path."""

    def __init__(self, path: Any, dtype: torch.dtype) -> None:
        self.path, self.dtype, self.shape = path, dtype, path.shape

    def grid_increments(self, grid: Any, levy: bool = False) -> Any:
        out = self.path.grid_increments(grid, levy=levy)
        if levy:
            return type(out)(*(None if a is None else a.to(self.dtype) for a in out))
        return out.to(self.dtype)


def sde_problem(method: str):
    """``(process, y0 value, exact(y0, W_1) or None)`` for a method: one it applies to."""
    import stochflow.sde as sde

    if method in ("euler", "milstein", "srk"):
        p = sde.GBM(MU, SIGMA)
        return p, 1.0, lambda y0, w: p.exact(y0, 1.0, w)
    if method in ("heun", "midpoint", "euler-heun", "reversible-heun"):
        p = sde.SDE(lambda t, y: MU * y, lambda t, y: SIGMA * y, noise="diagonal", kind="stratonovich",
                    diffusion_derivative=lambda t, y: 0 * y + SIGMA)
        return p, 1.0, lambda y0, w: y0 * torch.exp(MU + SIGMA * w)
    if method == "sra1":
        return sde.OrnsteinUhlenbeck(theta=1.0, mu=0.5, sigma=0.5), 1.0, None
    if method == "cir-implicit":
        return sde.CIR(kappa=2.0, theta=0.5, sigma=0.5), 0.5, None
    p = sde.SDE(lambda t, y: -MU * y, None)  # rk4, dopri5: ODEs
    return p, 1.0, lambda y0, w: y0 * math.exp(-MU)


def _rms(x: torch.Tensor) -> float:
    return float(x.double().pow(2).mean().sqrt())


def sde_errors(method: str, dt: float, n_paths: int = 1000, seed: int = 0, lows=("float32", "bfloat16")) -> dict:
    """Float64 discretisation error and the rounding errors of ``lows`` of ``method`` at step ``dt``."""
    import stochflow.sde as sde
    from stochflow.sde import BrownianPath

    process, y_init, exact = sde_problem(method)
    m = sde.get_method(method)
    fine = 16
    n = round(1.0 / dt)
    if process.is_ode:
        y0 = torch.full((n_paths, 1), y_init, dtype=torch.float64)
        y64 = sde.solve(process, y0, [0.0, 1.0], method, dt)[-1]
        out = {"discretisation": _rms(y64 - exact(y0, None)) / _rms(exact(y0, None))}
        for low in lows:
            ylo = sde.solve(process, y0.to(LOW[low]), [0.0, 1.0], method, dt)[-1]
            out[low] = _rms(ylo.double() - y64) / _rms(y64)
        return out
    path = BrownianPath(np.linspace(0.0, 1.0, n * fine + 1), (n_paths, 1), seed, dtype="float64",
                        levy_area="space-time" if m.levy else None)
    y0 = torch.full((n_paths, 1), y_init, dtype=torch.float64)
    y64 = sde.solve(process, y0, [0.0, 1.0], method, dt, brownian=path)[-1]
    if exact is not None:
        ref = exact(y0, path(0.0, 1.0))
    else:
        ref = sde.solve(process, y0, [0.0, 1.0], method, dt / fine, brownian=path)[-1]
    out = {"discretisation": _rms(y64 - ref) / _rms(ref)}
    for low in lows:
        try:
            ylo = sde.solve(process, y0.to(LOW[low]), [0.0, 1.0], method, dt, brownian=CastPath(path, LOW[low]))[-1]
            out[low] = _rms(ylo.double() - y64) / _rms(y64)
        except Exception as exc:  # noqa: BLE001 - reported on the page
            out[low] = f"fails: {type(exc).__name__}"
    return out


# -- entropic OT --------------------------------------------------------------------------------


def ot_errors(method: str, n: int = 400, seed: int = 0, lows=("float32", "bfloat16"), deep: bool = True) -> dict:
    """Float32 (and bf16) log-Sinkhorn / SNS against a float64 solve to 1e-10."""
    from stochflow.bridge import cost_matrix, sinkhorn

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    y = torch.randn(n, 2, generator=g, dtype=torch.float64) * 0.7 + torch.tensor([1.0, 0.5], dtype=torch.float64)
    M = cost_matrix(x, y)
    reg = 0.05 * float(M.mean())
    ref = sinkhorn(None, None, M, reg, method=method, tol=1e-10)
    out = {"float64 marginal error": float(ref.marginal_error)}
    for low in lows:
        try:
            lo = sinkhorn(None, None, M.to(LOW[low]), reg, method=method)
            floor = sinkhorn(None, None, M.to(LOW[low]), reg, method=method, tol=1e-9, max_iter=DEEP_ITER) \
                if deep else None
        except Exception as exc:  # noqa: BLE001 - reported on the page
            out[low] = f"fails: {type(exc).__name__}: {str(exc)[:80]}"
            continue
        out[low] = {"marginal error": float(lo.marginal_error), "iterations": int(lo.n_iter),
                    "cost error": abs(float(lo.cost) - float(ref.cost)) / abs(float(ref.cost)),
                    "plan error": float((lo.plan.double() - ref.plan).abs().sum()),
                    "smallest marginal error": None if floor is None else float(floor.marginal_error)}
    return out


# -- diffusion samplers -------------------------------------------------------------------------


def diffusion_errors(n: int = 4000, seed: int = 0, lows=("float32", "bfloat16")) -> dict:
    """Per sampler: sliced W2 to exact samples in float64 and the low precisions, and the rounding
    difference of the deterministic samplers."""
    import stochflow.diffusion as sfd
    from stochflow.diffusion.metrics import sliced_w2
    from stochflow.diffusion.samplers import STOCHASTIC
    from stochflow.diffusion.testing import GaussianMixture

    ang = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8
    gm = GaussianMixture(1 + torch.arange(8) % 3, 3 * torch.stack([ang.cos(), ang.sin()], 1),
                         torch.full((8,), 0.15**2))
    vp = sfd.VPSDE()
    exact = gm.sample(n, seed=seed + 1)
    x_T = vp.prior_sampling((n, 2), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    out = {"_floor": sliced_w2(gm.sample(n, seed=seed + 2), exact)}
    for solver in sfd.SOLVERS:
        x64 = sfd.sample(gm.score_fn(vp), vp, None, solver, steps=10, seed=seed, x_T=x_T).samples
        row = {"float64 sliced W2": sliced_w2(x64, exact), "stochastic": solver in STOCHASTIC}
        for low in lows:
            try:
                xlo = sfd.sample(gm.score_fn(vp), vp, None, solver, steps=10, seed=seed, x_T=x_T.to(LOW[low])).samples
                row[f"{low} sliced W2"] = sliced_w2(xlo.double(), exact)
                row[f"{low} rounding"] = None if solver in STOCHASTIC else _rms(xlo.double() - x64) / _rms(x64)
            except Exception as exc:  # noqa: BLE001 - reported on the page
                row[f"{low} sliced W2"] = f"fails: {type(exc).__name__}"
                row[f"{low} rounding"] = None
        out[solver] = row
    return out


# -- page ---------------------------------------------------------------------------------------


def _num(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return "–"
    return f"{v:.1e}"


SDE_METHODS = ("euler", "milstein", "heun", "midpoint", "euler-heun", "reversible-heun", "srk", "sra1",
               "cir-implicit", "rk4", "dopri5")
DTS = (2.0**-4, 2.0**-8)
FLOAT32_MARGIN = 10.0  # float32 "tolerated": rounding at most a tenth of the discretisation error


def sde_verdict(errs: dict[float, dict], low: str) -> str:
    """"yes" when the rounding stays under a tenth of the method error at every step measured; else
    the smallest relative error the precision reaches (its rounding floor)."""
    vals = [e[low] for e in errs.values()]
    if any(isinstance(v, str) for v in vals):
        return "no (" + next(v for v in vals if isinstance(v, str)) + ")"
    if all(v * FLOAT32_MARGIN <= e["discretisation"] for v, e in zip(vals, errs.values())):
        return "yes"
    if low == "bfloat16" and max(vals) > 0.05:
        return f"no: rounding {_num(max(vals))} at dt 2^{round(math.log2(min(errs)))}"
    return f"down to a relative error of ~{_num(max(vals))} (its rounding floor)"


def sampler_verdict(r: dict, low: str, floor: float) -> str:
    w64, w = r["float64 sliced W2"], r[f"{low} sliced W2"]
    if isinstance(w, str):
        return "no (" + w + ")"
    if not r["stochastic"]:
        rnd = r[f"{low} rounding"]
        return "yes" if rnd <= 1e-3 else f"rounding {_num(rnd)}; sliced W2 {_num(w)} (float64 {_num(w64)})"
    return ("yes (same sliced W2 within the noise)" if abs(w - w64) <= 2 * floor else
            f"sliced W2 {_num(w)} vs float64 {_num(w64)}")


STATIC = [  # (entry, float64, float32, bf16) for what this script does not measure: read off the code
    ("deep-bsde (xva)", "yes", "yes: its default (`dtype=\"float32\"`)", "not wired; not measured"),
    ("dsm-score (diffusion trainer)", "yes", "yes: follows the data's dtype", "not wired; not measured"),
    ("gdss (graph trainer)", "yes", "yes: follows the batch's dtype", "not wired; not measured"),
    ("graph-pc, graph-s4", "yes", "follows the batch's dtype; not measured", "not measured"),
    ("jump-gillespie", "yes", "accepted: holding times and draws are float64 inside, cast on output",
     "not measured"),
    ("jump-transition-matrix, jump-em, jump-mle, jump-pseudo-generator", "yes (default)", "accepted; not measured",
     "not measured"),
    ("jump-amortized", "–", "yes: pretrains in float32", "not wired"),
    ("rl-* estimators", "yes", "follow the data's dtype; not measured", "not wired"),
    ("multi-marginal-sb", "yes (default)", "not measured", "not measured"),
]


def write_page(path: Path, sde_rows, ot_rows, diff_rows, cmd: str, machine: str) -> None:
    lines = ["# Mixed precision", "",
             "What each solver gives up in float32 and bfloat16 against float64, measured by "
             "`benchmarks/precision.py` (its docstring gives the problems); "
             "`integration_tests/test_precision.py` asserts the float32 claims of the SDE solvers and of "
             "entropic OT. \"float32: yes\" means its rounding error stays at most a tenth of the float64 "
             "method error at the steps shown.", "",
             f"- Machine: {machine}.", f"- Command: `{cmd}`.", "",
             "## Summary per entry", "",
             "| entry | float64 | float32 | bfloat16 |", "|---|---|---|---|"]
    for name, errs in sde_rows.items():
        lines.append(f"| `{name}` (sde) | yes | {sde_verdict(errs, 'float32')} | {sde_verdict(errs, 'bfloat16')} |")
    for name, r in ot_rows.items():
        f32 = r["float32"]
        ok32 = isinstance(f32, dict) and f32["marginal error"] <= 1e-5
        bf = r["bfloat16"]
        lines.append(f"| `sinkhorn-{name}` (bridge) | yes (tol 1e-8) | "
                     f"{'yes, to marginal error ~' + _num(f32['smallest marginal error']) if ok32 else 'no'} | "
                     f"{'no: ' + bf if isinstance(bf, str) else 'marginal error ' + _num(bf['marginal error'])} |")
    floor = diff_rows.pop("_floor")
    for name, r in diff_rows.items():
        lines.append(f"| `diffusion-{name}` | yes | {sampler_verdict(r, 'float32', floor)} | "
                     f"{sampler_verdict(r, 'bfloat16', floor)} |")
    for row in STATIC:
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "The last rows are not measured here: they say what the code does with each dtype. bfloat16 "
              "autocast is wired into no trainer yet. The JAX backends of the SDE solvers and of entropic OT run "
              "the same arithmetic as the torch rows (float32 is JAX's default unless `jax_enable_x64` is set).", "",
              "## SDE solvers", "",
              "Relative RMS errors at `T = 1` over the paths: the float64 method error, and the rounding "
              "error of the low precisions on the same Brownian path.", "",
              "| method | dt | float64 method error | float32 rounding | bfloat16 rounding |", "|---|---:|---:|---:|---:|"]
    for name, errs in sde_rows.items():
        for dt, e in errs.items():
            lines.append(f"| `{name}` | 2^{round(math.log2(dt))} | {_num(e['discretisation'])} | "
                         f"{_num(e['float32'])} | {_num(e['bfloat16'])} |")
    lines += ["", "## Entropic OT", "",
              "Float32 at its default tolerance (1e-5) against float64 solved to 1e-10; the last column asks "
              "float32 for 1e-9 and reports what it reaches.", "",
              "| method | float64 marginal error | float32 marginal error | iterations | cost error | plan L1 error "
              "| float32 floor | bfloat16 |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, r in ot_rows.items():
        f32, bf = r["float32"], r["bfloat16"]
        bf_text = bf if isinstance(bf, str) else f"marginal error {_num(bf['marginal error'])}"
        if isinstance(f32, str):
            lines.append(f"| {name} | {_num(r['float64 marginal error'])} | {f32} | | | | | {bf_text} |")
            continue
        lines.append(f"| {name} | {_num(r['float64 marginal error'])} | {_num(f32['marginal error'])} | "
                     f"{f32['iterations']} | {_num(f32['cost error'])} | {_num(f32['plan error'])} | "
                     f"{_num(f32['smallest marginal error'])} | {bf_text} |")
    lines += ["", "## Diffusion samplers", "",
              "10 steps (pf-ode: adaptive), one float64 prior draw cast to each precision; sliced W2 to exact "
              "samples (its floor is the sampling noise of the sample size), and for deterministic samplers "
              f"the relative RMS difference from float64. Sliced W2 between two exact sample sets of this size: "
              f"{_num(floor)} (the noise floor; stochastic samplers draw other noise in each precision).", "",
              "| sampler | float64 sliced W2 | float32 sliced W2 | float32 rounding | bfloat16 sliced W2 | "
              "bfloat16 rounding |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in diff_rows.items():
        lines.append(f"| `{name}`{' (stochastic)' if r['stochastic'] else ''} | {_num(r['float64 sliced W2'])} | "
                     f"{_num(r['float32 sliced W2'])} | {_num(r['float32 rounding'])} | "
                     f"{_num(r['bfloat16 sliced W2'])} | {_num(r['bfloat16 rounding'])} |")
    lines.append("")
    path.write_text("\n".join(lines))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer paths and points")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "precision.md"))
    args = p.parse_args(argv)
    from stochflow.core.machine import describe

    machine = describe("torch")
    torch.set_num_threads(1)  # accuracy, not speed: no thread contention on a shared machine
    n_paths, n_ot, n_diff = (200, 200, 1000) if args.quick else (1000, 400, 4000)
    sde_rows = {}
    for name in SDE_METHODS:
        sde_rows[name] = {dt: sde_errors(name, dt, n_paths) for dt in DTS}
        print(name, sde_rows[name], file=sys.stderr, flush=True)
    ot_rows = {name: ot_errors(name, n_ot) for name in ("log", "sns")}
    print(ot_rows, file=sys.stderr, flush=True)
    diff_rows = diffusion_errors(n_diff)
    cmd = "python benchmarks/precision.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    write_page(Path(args.out), sde_rows, ot_rows, diff_rows, cmd, machine)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
