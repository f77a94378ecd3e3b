"""Side runs on the PNAS HJB problem at λ = 10 (d = 100): one deep BSDE configuration per call.

    python packages/xva/benchmarks/hjb_remedies.py --steps 40 --iterations 2000 --batch 256 --skip
    python packages/xva/benchmarks/hjb_remedies.py --steps 40 --z-network gradient --skip --report-every 200

Prints one JSON line: the configuration, ``Y0``, its relative error against the Cole–Hopf Monte
Carlo reference (4.4929 ± 1.1e-4, 10^7 samples, see ``run.py``), wall and CPU seconds, the error
indicator and the spread of ``Y0`` over the last 10% of iterations. The runs quoted in
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

import torch

from stochflow.xva import DeepBSDESolver
from stochflow.xva.pnas import hjb

REFERENCE = 4.4929  # hjb_reference(100, 10.0, 10_000_000, seed=0)


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
    parser.add_argument("--driver-rule", default="left", choices=("left", "trapezoid"))
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--report-every", type=int, default=0,
                        help="train in chunks of this many iterations (checkpoint and resume: the same numbers) "
                             "and print Y0 after each, to stop a bad run early")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    milestones = tuple(float(m) for m in args.milestones.split(","))
    opts = dict(network=args.network, skip=args.skip, z_network=args.z_network, driver_rule=args.driver_rule,
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
    else:
        res = DeepBSDESolver(**opts).solve(problem)
    tail = res.y0_history[-max(1, args.iterations // 10):]
    print(json.dumps(dict(vars(args), y0=res.y0, rel_error=abs(res.y0 / REFERENCE - 1),
                          wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu,
                          error_indicator=res.error_indicator, y0_tail_sd=float(tail.std()))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
