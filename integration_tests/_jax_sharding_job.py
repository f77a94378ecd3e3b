"""JAX solvers on inputs sharded over a 1-D device mesh (batch axis), against the same inputs on one
device. Run with ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` (set before jax is
imported) to get two CPU devices; prints one JSON object: for every case the output's partition
spec, the shape of the block each device holds, and the largest difference from the unsharded
result.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import stochflow.sde as sde
from stochflow.bridge import cost_matrix, sinkhorn

jax.config.update("jax_enable_x64", True)


def report(sharded, unsharded) -> dict:
    return {"spec": [None if s is None else str(s) for s in sharded.sharding.spec],
            "shape": list(sharded.shape), "block": list(sharded.addressable_shards[0].data.shape),
            "replicated": sharded.sharding.is_fully_replicated,
            "diff": float(np.max(np.abs(np.asarray(sharded) - np.asarray(unsharded)))),
            "scale": float(np.max(np.abs(np.asarray(unsharded))))}


def main() -> None:
    devices = jax.devices()
    mesh = Mesh(np.array(devices), ("batch",))
    on_batch = lambda x, axis=0: jax.device_put(  # noqa: E731
        x, NamedSharding(mesh, P(*([None] * axis), "batch")))
    out: dict = {"devices": len(devices), "platform": devices[0].platform}

    # SDE solver: a batch of 8 paths of a 2-d GBM, the batch axis sharded (output (len(ts), batch, d))
    y0 = jnp.linspace(0.5, 2.0, 16).reshape(8, 2)
    ts = jnp.linspace(0.0, 1.0, 5)
    gbm = sde.GBM(mu=0.5, sigma=0.8)
    ode = sde.SDE(drift=lambda t, y: -(1.0 + t) * y)
    cases = {
        "sde-euler": lambda y: sde.solve(gbm, y, ts, solver="euler", dt=2**-5, seed=0),
        "sde-srk": lambda y: sde.solve(gbm, y, ts, solver="srk", dt=2**-5, seed=0),
        "sde-euler-jit": jax.jit(lambda y: sde.solve(gbm, y, ts, solver="euler", dt=2**-5, seed=0)),
        "sde-euler-tree": lambda y: sde.solve(gbm, y, ts, solver="euler", dt=2**-5, brownian=sde.VirtualBrownianTree(
            0.0, 1.0, (8, 2), seed=0, backend="jax", dtype=jnp.float64)),
        "ode-dopri5-adaptive": lambda y: sde.solve(ode, y, ts, solver="dopri5", adaptive=True, rtol=1e-8, atol=1e-10),
        "sde-euler-adaptive": lambda y: sde.solve(gbm, y, ts, solver="euler", adaptive=True, rtol=1e-2, seed=0),
    }
    y0_sharded = on_batch(y0)
    out["input_spec"] = [str(s) for s in y0_sharded.sharding.spec]
    # the adaptive solves also from scattered starting points: with an error norm whose sum over the
    # batch depended on the sharding, the accepted steps (and paths) of 1 and 2 devices parted here
    y0_rand = jnp.asarray(np.random.default_rng(0).uniform(0.5, 2.0, size=(8, 2)))
    cases["sde-euler-adaptive-scattered"] = cases["sde-euler-adaptive"]
    cases["ode-dopri5-adaptive-scattered"] = cases["ode-dopri5-adaptive"]
    for name, run in cases.items():
        start = y0_rand if name.endswith("-scattered") else y0
        out[name] = report(run(on_batch(start)), run(start))

    # OT: a batch of 4 problems sharded on the batch axis (marginals, costs and reg), ...
    rng = np.random.default_rng(0)
    x, y = jnp.asarray(rng.normal(size=(4, 20, 2))), jnp.asarray(rng.normal(size=(4, 24, 2)))
    a = jnp.asarray(rng.dirichlet(np.ones(20), size=4))
    b = jnp.asarray(rng.dirichlet(np.ones(24), size=4))
    reg = jnp.asarray([0.3, 0.5, 0.7, 1.0])
    M = cost_matrix(x, y)
    Ms = cost_matrix(on_batch(x), on_batch(y))
    out["ot-cost-matrix"] = report(Ms, M)
    for method in ("log", "sns"):
        u = sinkhorn(a, b, M, reg, method=method)
        s = sinkhorn(on_batch(a), on_batch(b), Ms, on_batch(reg), method=method)
        for field in ("plan", "f", "g", "cost"):
            out[f"ot-batch-{method}-{field}"] = report(getattr(s, field), getattr(u, field))
        out[f"ot-batch-{method}-converged"] = bool(np.all(np.asarray(s.converged)))
    # ... and one problem with the rows of M (and a) sharded
    u = sinkhorn(a[0], b[0], M[0], 0.5, method="log")
    s = sinkhorn(on_batch(a[0]), b[0], on_batch(M[0]), 0.5, method="log")
    for field in ("plan", "f"):
        out[f"ot-rows-log-{field}"] = report(getattr(s, field), getattr(u, field))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
