"""``stochflow bridge``: fit trajectories to an ``.h5ad`` time course; predict marginals at any time."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from stochflow.core.cli import ArgumentParser
from stochflow.core.errors import StochflowError


def _fit(args) -> int:
    import anndata

    from stochflow.bridge.mmsb import MultiMarginalSB
    from stochflow.core import distributed as D

    if not args.data.exists():
        raise FileNotFoundError(f"no such file: {args.data}")
    adata = anndata.read_h5ad(args.data)
    sb = MultiMarginalSB(reference=args.reference, sigma=args.sigma, fit_diffusion=args.fit_diffusion,
                         n_refine=args.n_refine, method=args.method, seed=args.seed, noise=args.noise,
                         checkpoint=args.checkpoint)
    sb.fit(adata, time_key=args.time_key, rep=args.rep)   # under torchrun: every rank fits its share
    sb.save(args.out)                                     # rank 0 writes
    main = D.is_main()
    D.shutdown()                                          # every rank leaves the group before exiting
    if not main:
        return 0
    p = sb.reference_params
    print(f"{len(sb.times_)} time points, {sum(len(x) for x in sb.snapshots_)} cells, d = {sb.snapshots_[0].shape[1]}: "
          f"{len(sb.history_)} iteration(s), reference {p['kind']} sigma = {p['sigma']:.4g}; wrote {args.out}")
    if args.write_h5ad:
        sb.write(adata, time_key=args.time_key, rep=args.rep)
        adata.write_h5ad(args.write_h5ad)
        print(f"wrote {args.write_h5ad} (obsm['bridge_next'], obsm['bridge_drift'], uns['stochflow_bridge'])")
    return 0


def _predict(args) -> int:
    import anndata
    import numpy as np
    import pandas as pd

    from stochflow.bridge.mmsb import MultiMarginalSB

    if not args.model.exists():
        raise FileNotFoundError(f"no such file: {args.model}")
    sb = MultiMarginalSB.load(args.model)
    ts = np.sort(np.asarray(args.times, dtype=np.float64))
    _, paths = sb.sample_trajectories(args.n, ts=ts, seed=args.seed)
    X = paths.reshape(-1, paths.shape[-1])
    obs = pd.DataFrame({"time": np.repeat(ts, args.n), "trajectory": np.tile(np.arange(args.n), len(ts))},
                       index=[f"pred{i}" for i in range(len(X))])
    out = anndata.AnnData(X=X, obs=obs)
    out.uns["stochflow_bridge"] = {"model": str(args.model), "times": ts}
    out.write_h5ad(args.out)
    print(f"wrote {len(X)} predicted cells ({args.n} trajectories at times {', '.join(f'{t:g}' for t in ts)}) "
          f"to {args.out}")
    return 0


def main(argv: Sequence[str], prog: str = "stochflow bridge") -> int:
    """Entry point of ``stochflow bridge``."""
    parser = ArgumentParser(prog=prog, description="Schrödinger-bridge trajectory inference from snapshots.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=ArgumentParser)
    p = sub.add_parser("fit", help="fit a multi-marginal Schrödinger bridge to an .h5ad time course")
    p.add_argument("data", type=Path, help="AnnData file (.h5ad) with a time column in obs")
    p.add_argument("--time-key", default="day", help="obs column with each cell's time (default: day)")
    p.add_argument("--rep", default=None, help="obsm key of the representation (default: .X), e.g. X_pca")
    p.add_argument("--reference", default="linear",
                   choices=["linear", "ou", "brownian", "lotka-volterra", "lv", "repressilator", "neural"],
                   help="reference process class (default: linear, refined)")
    p.add_argument("--noise", default=None, choices=["additive", "multiplicative"],
                   help="noise of the nonlinear references (default: multiplicative for lotka-volterra and "
                        "repressilator, else additive)")
    p.add_argument("--sigma", type=float, default=None, help="reference diffusion (default: from the data)")
    p.add_argument("--fit-diffusion", action="store_true", help="also refit sigma")
    p.add_argument("--n-refine", type=int, default=20, help="most refinement iterations (default: 20)")
    p.add_argument("--method", default="sns", choices=["sns", "log"], help="OT solver (default: sns)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("bridge-model.pt"), help="model file (default: bridge-model.pt)")
    p.add_argument("--write-h5ad", type=Path, default=None, help="also write the data with results to this .h5ad")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="checkpoint written after every refinement iteration; an existing one is resumed")
    q = sub.add_parser("predict", help="sample the fitted bridge at given times into an .h5ad")
    q.add_argument("model", type=Path, help="model file written by 'fit'")
    q.add_argument("--times", type=float, nargs="+", required=True, help="times to predict")
    q.add_argument("--n", type=int, default=200, help="trajectories (cells per time, default 200)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", type=Path, default=Path("bridge-pred.h5ad"), help="output .h5ad")
    args = parser.parse_args(argv)
    try:
        return _fit(args) if args.action == "fit" else _predict(args)
    except (StochflowError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
