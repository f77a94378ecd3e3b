"""``stochflow jump``: infer rate matrices from tables of observations, or simulate such tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from stochflow.core.cli import ArgumentParser
from stochflow.core.errors import StochflowError

EPILOG = """input layout: one row per observation with columns path,time,state (path: any id; time >= 0,
sorted within a path; state: integer 0..S-1). Parquet files (.parquet) need pandas and pyarrow."""


def _noise(text: str) -> float | str:
    if text == "learn":
        return text
    return float(text)


def _infer(args) -> int:
    import stochflow.jump as sfj

    obs = sfj.read_observations(args.observations, n_states=args.states, t_max=args.t_max)
    if args.estimator == "em":
        prior = None if args.no_prior else sfj.GammaPrior(*args.prior)
        est = sfj.EMEstimator(noise=args.noise, prior=prior, max_iter=args.max_iter, progress=None)
    elif args.estimator in ("amortized", "amortized-em"):
        est = sfj.AmortizedEstimator(args.checkpoint, refine="em" if args.estimator == "amortized-em" else None,
                                     em_options={"noise": args.noise, "max_iter": args.max_iter})
    else:
        est = sfj.PseudoGeneratorEstimator()
    model = est.fit(obs).fetch_model()
    model.save(args.out)
    flip = "" if model.flip_prob is None else f", flip probability {float(model.flip_prob):.3f}"
    print(f"{obs.n_paths} paths, {obs.n_observations} observations, {obs.n_states} states: "
          f"{args.estimator} finished after {model.n_iter} iterations{flip}; wrote {args.out}")
    return 0


def _simulate(args) -> int:
    import torch

    import stochflow.jump as sfj

    if args.generator:
        Q = torch.tensor(json.loads(Path(args.generator).read_text())["generator"], dtype=torch.float64)
    else:
        Q = sfj.dfr_generator(*args.dfr)
    paths = sfj.simulate(Q, n_paths=args.paths, t_max=args.t_max, seed=args.seed)
    obs = paths.observe(args.times, grid=args.grid, flip_prob=args.flip_prob, seed=args.seed + 1)
    sfj.write_observations(obs, args.out)
    print(f"wrote {obs.n_observations} observations of {obs.n_paths} paths to {args.out}")
    return 0


def _pretrain(args) -> int:
    from stochflow.core import distributed as D
    from stochflow.jump.amortized import AmortizedConfig, pretrain

    settings = {key: getattr(args, key) for key in ("steps", "batch_size", "d_model", "lr", "seed")
                if getattr(args, key) is not None}
    counts = settings | {"every": args.every}
    for key in ("steps", "batch_size", "d_model", "every"):
        if key in counts and counts[key] < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be at least 1")
    if args.resume is not None and settings:
        flags = ", ".join("--" + k.replace("_", "-") for k in settings)
        raise ValueError(f"--resume goes on with the checkpoint's settings; drop {flags}")
    config = None if args.resume is not None else AmortizedConfig(**settings)
    net = pretrain(config, out=args.out, every=args.every, resume=args.resume)
    main = D.is_main()
    D.shutdown()  # under torchrun: every rank leaves the group before exiting
    if main:
        print(f"pretrained {net.config.steps} steps; checkpoint (with its config) in {args.out}")
    return 0


def main(argv: Sequence[str], prog: str = "stochflow jump") -> int:
    """Entry point of ``stochflow jump``."""
    parser = ArgumentParser(prog=prog, description="Markov jump processes: simulate and infer.", epilog=EPILOG)
    sub = parser.add_subparsers(dest="action", required=True, parser_class=ArgumentParser)
    p = sub.add_parser("infer", help="fit a rate matrix to observations (CSV or Parquet) and save it as JSON",
                       epilog=EPILOG)
    p.add_argument("observations", type=Path, help="table with columns path,time,state")
    p.add_argument("--states", type=int, default=None, help="number of states S (default: largest label + 1)")
    p.add_argument("--out", type=Path, default=Path("model.json"), help="output JSON (default: model.json)")
    p.add_argument("--estimator", choices=["em", "pseudo", "amortized", "amortized-em"], default="em",
                   help="estimator (default: em)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="amortized estimators: a checkpoint from 'pretrain' (default: the shipped one)")
    p.add_argument("--noise", type=_noise, default="learn",
                   help="label flip probability, or 'learn' to estimate it (default: learn)")
    p.add_argument("--prior", type=float, nargs=2, default=(1.5, 1.0), metavar=("ALPHA", "BETA"),
                   help="Gamma prior on every rate (default: 1.5 1.0)")
    p.add_argument("--no-prior", action="store_true", help="maximum likelihood (no prior)")
    p.add_argument("--max-iter", type=int, default=500, help="EM iterations at most (default: 500)")
    p.add_argument("--t-max", type=float, default=None, help="observation horizon (default: last time)")
    s = sub.add_parser("simulate", help="simulate observations of a generator to a CSV/Parquet table")
    s.add_argument("--out", type=Path, required=True, help="output table (.csv or .parquet)")
    s.add_argument("--dfr", type=float, nargs=3, default=(1.0, 1.0, 1.0), metavar=("V", "R", "B"),
                   help="simulate the flashing ratchet with these parameters (default: 1 1 1)")
    s.add_argument("--generator", type=Path, default=None, help="or a model JSON written by 'infer'")
    s.add_argument("--paths", type=int, default=300, help="number of paths (default: 300)")
    s.add_argument("--t-max", type=float, default=2.5, help="horizon (default: 2.5)")
    s.add_argument("--times", type=int, default=50, help="observations per path (default: 50)")
    s.add_argument("--grid", choices=["regular", "irregular"], default="irregular")
    s.add_argument("--flip-prob", type=float, default=0.0, help="label noise (default: 0)")
    s.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("pretrain", help="pretrain the amortised estimator on synthetic processes from the prior")
    r.add_argument("--out", type=Path, required=True, help="checkpoint file (written every --every steps)")
    r.add_argument("--steps", type=int, default=None, help="optimiser steps (default: 2500)")
    r.add_argument("--batch-size", type=int, default=None, help="processes per step and rank (default: 12)")
    r.add_argument("--d-model", type=int, default=None, help="width of the network (default: 48)")
    r.add_argument("--lr", type=float, default=None, help="peak learning rate (default: 2e-3)")
    r.add_argument("--every", type=int, default=50, help="checkpoint every this many steps (default: 50)")
    r.add_argument("--seed", type=int, default=None, help="global seed (default: 0)")
    r.add_argument("--resume", type=Path, default=None,
                   help="go on from a checkpoint that pretrain wrote (with its settings), on any number of ranks")
    args = parser.parse_args(list(argv))
    try:
        if args.action == "pretrain":
            return _pretrain(args)
        return _infer(args) if args.action == "infer" else _simulate(args)
    except (StochflowError, OSError, ValueError, KeyError) as exc:
        print(f"{prog} {args.action}: error: {exc}", file=sys.stderr)
        return 2
