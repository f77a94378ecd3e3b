"""Side runs on the PNAS HJB problem at λ = 10 (d = 100): one deep BSDE configuration per call.

    python packages/xva/benchmarks/hjb_remedies.py --steps 40 --iterations 2000 --batch 256 --skip
    python packages/xva/benchmarks/hjb_remedies.py --steps 40 --z-network gradient --skip --report-every 200
    python packages/xva/benchmarks/hjb_remedies.py --steps 40 --ideal   # the scheme with the exact Z
    python packages/xva/benchmarks/hjb_remedies.py --steps 40 --skip --driver-rule trapezoid --y0-scale 0.1 \
        --seed 1 --estimate-paths 65536 --checkpoint hjb_s1.pt   # Y0 re-estimated with the trained Z

Prints one JSON line: the configuration, ``Y0``, its relative error against the Cole–Hopf Monte
Carlo reference (4.4929 ± 1.1e-4, 10^7 samples, see ``run.py``), wall and CPU seconds, the error
indicator and the spread of ``Y0`` over the last 10% of iterations; with ``--estimate-paths`` also ``Y0``
re-estimated on fresh paths with the trained ``Z`` (plain and tilted Monte Carlo, with standard errors
and CPU seconds; ``BSDEResult.estimate_y0``). ``--checkpoint`` keeps the trained model: a second call
with the same settings and file trains no further and only evaluates. The runs quoted in
``docs/benchmarks/xva.md`` ("HJB at λ = 10: what helped") were made with this script.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("STOCHFLOW_QUIET", "1")

import numpy as np
import torch

from stochflow.xva import DeepBSDESolver
from stochflow.xva.pnas import hjb

REFERENCE = 4.4929  # hjb_reference(100, 10.0, 10_000_000, seed=0)


def ideal_y0(n_steps: int, rule: str, *, outer: int = 300, inner: int = 20_000, seed: int = 0) -> float:
    """``Y0`` that the deep BSDE scheme gives with the exact ``Z* = √2∇u`` (Cole–Hopf, λ = 10, d = 100):
    ``E[g] - (λ/2) Σ_n E|Z*(t_n, X_n)|² Δt`` with the driver's left-point or trapezoidal sum.

    ``u`` is radial, ``u = φ(T - t, |x|²)``, so ``|Z*|² = 8ρ (∂_ρφ)²`` at ``ρ = |x|²``; ``∂_ρφ`` is the
    ``e^{-λg}``-weighted mean of the pathwise derivative of ``g`` over ``|x + √2W_τ|²`` (inner samples),
    and ``ρ = |X_t|² = 2t χ²_d`` (outer samples)."""
    rng = np.random.default_rng(seed)
    d, lam, maturity, mean_g = 100, 10.0, 1.0, 4.6001

    def energy(t: float) -> float:
        if t == 0:
            return 0.0
        rho = 2 * t * rng.chisquare(d, outer)
        tau = maturity - t
        if tau < 1e-12:
            return float(np.mean(8 * rho / (1 + rho) ** 2))
        xi = rng.standard_normal((outer, inner))
        a = np.sqrt(rho)[:, None] + np.sqrt(2 * tau) * xi
        r2 = a * a + 2 * tau * rng.chisquare(d - 1, (outer, inner))
        g = np.log((1 + r2) / 2)
        w = np.exp(-lam * (g - g.min(1, keepdims=True)))
        dphi = (w * a / (np.sqrt(rho)[:, None] * (1 + r2))).sum(1) / w.sum(1)
        return float(np.mean(8 * rho * dphi**2))

    e = np.array([energy(t) for t in np.linspace(0.0, maturity, n_steps + 1)])
    total = e[:-1].sum() if rule == "left" else 0.5 * (e[:-1] + e[1:]).sum()
    return mean_g - lam / 2 * total * maturity / n_steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--milestones", default="0.6,0.85")
    parser.add_argument("--network", default="shared", choices=("shared", "per-step"))
    parser.add_argument("--skip", action="store_true", help="linear skip connection in the Z network")
    parser.add_argument("--z-network", default="direct", choices=("direct", "gradient"))
    parser.add_argument("--z-gain", action="store_true", help="one learnable scalar factor on Z")
    parser.add_argument("--y0-scale", type=float, default=None, help="scale on which Y0 is learned")
    parser.add_argument("--y0-update", default="adam", choices=("adam", "profile"),
                        help="Y0 by Adam beside Z, or set from the batch's mean residual (Z on the batch variance)")
    parser.add_argument("--driver-rule", default="left", choices=("left", "trapezoid"))
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--report-every", type=int, default=0,
                        help="train in chunks of this many iterations (checkpoint and resume: the same numbers) "
                             "and print Y0 after each, to stop a bad run early")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--estimate-paths", type=int, default=0,
                        help="re-estimate Y0 on this many fresh paths with the trained Z (plain and tilted)")
    parser.add_argument("--checkpoint", default=None, help="file to keep the trained model in (and resume from)")
    parser.add_argument("--ideal", action="store_true",
                        help="no training: the scheme's Y0 with the exact Z (left and trapezoidal driver sums)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.ideal:
        for rule in ("left", "trapezoid"):
            y0 = ideal_y0(args.steps, rule, seed=args.seed)
            print(json.dumps(dict(steps=args.steps, driver_rule=rule, exact_z=True, y0=y0,
                                  rel_error=abs(y0 / REFERENCE - 1))), flush=True)
        return 0
    milestones = tuple(float(m) for m in args.milestones.split(","))
    opts = dict(network=args.network, skip=args.skip, z_network=args.z_network, z_gain=args.z_gain, y0_scale=args.y0_scale, y0_update=args.y0_update,
                driver_rule=args.driver_rule,
                width=args.width, iterations=args.iterations, batch_size=args.batch, learning_rate=args.lr,
                lr_milestones=milestones, dtype=args.dtype, seed=args.seed, show_progress=False)
    problem = hjb(lam=10.0, n_steps=args.steps)
    wall, cpu = time.perf_counter(), time.process_time()
    if args.report_every:
        with tempfile.TemporaryDirectory() as tmp:
            ck = Path(tmp) / "ck.pt"
            done = 0
            while done < args.iterations:
                done = min(args.iterations, done + args.report_every)
                solver = DeepBSDESolver(**opts, checkpoint=ck)
                solver.fit(problem, resume=ck if ck.exists() else None, stop_after=done)
                y0 = solver.fetch_model().y0
                print(json.dumps(dict(iteration=done, y0=y0, rel_error=y0 / REFERENCE - 1,
                                      cpu_s=time.process_time() - cpu)), flush=True)
        res = solver.fetch_model()
    elif args.checkpoint:
        ck = Path(args.checkpoint)
        res = DeepBSDESolver(**opts, checkpoint=ck).solve(problem, resume=ck if ck.exists() else None)
    else:
        res = DeepBSDESolver(**opts).solve(problem)
    tail = res.y0_history[-max(1, args.iterations // 10):]
    out = dict(vars(args), y0=res.y0, rel_error=abs(res.y0 / REFERENCE - 1), wall_s=time.perf_counter() - wall,
               cpu_s=time.process_time() - cpu, error_indicator=res.error_indicator, y0_tail_sd=float(tail.std()))
    for tilt in (False, True) if args.estimate_paths else ():
        cpu_est = time.process_time()
        est = res.estimate_y0(problem, tilt=tilt, n_paths=args.estimate_paths, seed=args.seed)
        key = "tilted" if tilt else "plain"
        out.update({f"{key}_y0": est.value, f"{key}_stderr": est.stderr, f"{key}_rel_error": abs(est.value / REFERENCE - 1),
                    f"{key}_cpu_s": time.process_time() - cpu_est})
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
