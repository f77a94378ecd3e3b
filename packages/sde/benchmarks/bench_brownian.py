"""Brownian trees under sequential and random queries: stochflow vs torchsde vs diffrax.

``run(quick) -> str`` returns a markdown section; ``benchmarks/run.py`` appends it to
``docs/benchmarks/sde.md``. Alone: ``python packages/sde/benchmarks/bench_brownian.py [--quick]``.

Every tree carries the space-time Lévy area, float32, leaves of ``2^-12`` on ``[0, 1]``:

* sequential: 1000 consecutive steps ``[k dt, (k+1) dt]`` with ``dt = 1/1000`` (off the dyadic grid)
  and with ``dt = 2^-10`` (on it), each step one query, as a fixed-step solver makes them;
* random: 200 intervals with uniform random ends, one query each, as adaptive stepping with
  rejections does.

Torch: a Python loop of queries (stochflow ``VirtualBrownianTree``, torchsde ``BrownianInterval``).
JAX: stochflow's tree as an eager loop of queries (concrete times, node cache) and, like diffrax's
``VirtualBrownianTree.evaluate``, inside one jitted ``lax.scan``/``vmap`` over traced times (compile
excluded). ``--jax-only`` times the JAX rows alone.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time

import numpy as np

TOL = 2.0**-12


def _median(fn, repeats):
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def _queries(n_random=200):
    seq = {"sequential dt=1/1000": np.linspace(0.0, 1.0, 1001), "sequential dt=2^-10": np.linspace(0.0, 1.0, 1025)}
    ends = np.sort(np.random.default_rng(0).uniform(0, 1, (n_random, 2)), axis=1)
    return seq, ends


def _torch_cases(shape, seq, ends):
    import torch

    import stochflow.sde as sde

    def ours(pairs):
        def go():
            bm = sde.VirtualBrownianTree(0.0, 1.0, shape, seed=0, dtype=torch.float32, tol=TOL,
                                         levy_area="space-time")
            for s, t in pairs:
                bm(s, t, levy=True)
        return go

    cases = {}
    for name, grid in seq.items():
        pairs = list(zip(grid[:-1].tolist(), grid[1:].tolist()))
        cases[(name, "stochflow VirtualBrownianTree (torch)")] = ours(pairs)
    cases[("random", "stochflow VirtualBrownianTree (torch)")] = ours(ends.tolist())
    if importlib.util.find_spec("torchsde"):
        import torchsde

        def theirs(pairs):
            def go():
                bi = torchsde.BrownianInterval(0.0, 1.0, shape, dtype=torch.float32, entropy=0, tol=TOL,
                                               levy_area_approximation="space-time")
                for s, t in pairs:
                    bi(s, t, return_U=True)
            return go

        for name, grid in seq.items():
            cases[(name, "torchsde BrownianInterval")] = theirs(list(zip(grid[:-1].tolist(), grid[1:].tolist())))
        cases[("random", "torchsde BrownianInterval")] = theirs(ends.tolist())
    return cases


def _jax_cases(shape, seq, ends):
    import jax
    import jax.numpy as jnp

    import stochflow.sde as sde

    cases = {}

    def ours(pairs):
        def go():
            bm = sde.VirtualBrownianTree(0.0, 1.0, shape, seed=0, dtype=jnp.float32, tol=TOL,
                                         levy_area="space-time", backend="jax")
            out = [bm(s, t, levy=True) for s, t in pairs]
            out[-1].W.block_until_ready()
        return go

    for name, grid in seq.items():
        cases[(name, "stochflow VirtualBrownianTree (jax, eager)")] = ours(list(zip(grid[:-1], grid[1:])))
    cases[("random", "stochflow VirtualBrownianTree (jax, eager)")] = ours(ends.tolist())

    tree = sde.VirtualBrownianTree(0.0, 1.0, shape, seed=0, dtype=jnp.float32, tol=TOL, levy_area="space-time",
                                   backend="jax")

    @jax.jit
    def our_scan(s, t):
        def body(c, st):
            inc = tree(st[0], st[1], levy=True)
            return c, (inc.W, inc.H)
        return jax.lax.scan(body, 0, (s, t))[1]

    our_many = jax.jit(jax.vmap(lambda s, t: tree(s, t, levy=True)))
    for name, grid in seq.items():
        s, t = jnp.asarray(grid[:-1], jnp.float32), jnp.asarray(grid[1:], jnp.float32)
        cases[(name, "stochflow VirtualBrownianTree (jax, jit scan)")] = \
            lambda s=s, t=t: our_scan(s, t)[0].block_until_ready()
    s, t = jnp.asarray(ends[:, 0], jnp.float32), jnp.asarray(ends[:, 1], jnp.float32)
    cases[("random", "stochflow VirtualBrownianTree (jax, jit vmap)")] = lambda: our_many(s, t).W.block_until_ready()
    if importlib.util.find_spec("diffrax"):
        import diffrax

        vbt = diffrax.VirtualBrownianTree(0.0, 1.0, tol=TOL, shape=shape, key=jax.random.PRNGKey(0),
                                          levy_area=diffrax.SpaceTimeLevyArea)

        @jax.jit
        def scan(s, t):
            def body(c, st):
                inc = vbt.evaluate(st[0], st[1], use_levy=True)
                return c, (inc.W, inc.H)
            return jax.lax.scan(body, 0, (s, t))[1]

        many = jax.jit(jax.vmap(lambda s, t: vbt.evaluate(s, t, use_levy=True)))

        for name, grid in seq.items():
            s, t = jnp.asarray(grid[:-1], jnp.float32), jnp.asarray(grid[1:], jnp.float32)
            cases[(name, "diffrax VirtualBrownianTree (jit scan)")] = lambda s=s, t=t: scan(s, t)[0].block_until_ready()
        s, t = jnp.asarray(ends[:, 0], jnp.float32), jnp.asarray(ends[:, 1], jnp.float32)
        cases[("random", "diffrax VirtualBrownianTree (jit vmap)")] = lambda: many(s, t).W.block_until_ready()
    return cases


def run(quick: bool = False, backends: tuple[str, ...] = ("torch", "jax")) -> str:
    """Time every case; return the markdown section."""
    import torch

    torch.set_num_threads(1)
    sizes = [(16, 1), (1024, 10)]
    repeats = 3 if quick else 5
    seq, ends = _queries()
    lines = [
        "## Brownian trees: sequential and random queries", "",
        f"Space-time Lévy area, float32, leaves of 2^-12 on [0, 1]; median of {repeats} runs (seconds, "
        "building the tree included, JAX compile excluded); ratio = library / stochflow on the same backend. "
        "Sequential: 1000 (or 1024) consecutive steps, one query each; random: 200 intervals with uniform "
        "random ends. torch with one thread.", "",
        "| queries | shape | library | median s | queries/s | ratio |", "|---|---|---|---|---|---|",
    ]
    for shape in sizes:
        for backend, make in (("torch", _torch_cases), ("jax", _jax_cases)):
            if backend not in backends or (backend == "jax" and not importlib.util.find_spec("jax")):
                continue
            cases = make(shape, seq, ends)
            res = {}
            for key, fn in cases.items():
                res[key] = _median(fn, repeats)
                print(f"brownian {shape} {key}: {res[key]:.4f}s", file=sys.stderr)
            for (qname, lib), sec in res.items():
                base = [v for (q, lb), v in res.items() if q == qname and lb.startswith("stochflow")]
                n = 200 if qname == "random" else (1000 if "1000" in qname else 1024)
                lines.append(f"| {qname} | {shape[0]} x {shape[1]} | {lib} | {sec:.4f} | {n / sec:.3g} | "
                             f"{sec / base[0]:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run("--quick" in sys.argv, ("jax",) if "--jax-only" in sys.argv else ("torch", "jax")))
