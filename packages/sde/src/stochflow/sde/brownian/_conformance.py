"""Conformance cases (:mod:`stochflow.core.testing`) for registry entries of the Brownian objects.

Registered as the processes ``virtual-brownian-tree`` and ``brownian-path`` by ``stochflow.sde._plugin``.
"""

from __future__ import annotations

from stochflow.core.testing import Case


def _dtype(backend: str, dtype: str):
    if backend == "jax" and dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)
    return dtype


def case_virtual_brownian_tree() -> Case:
    from stochflow.sde.brownian import VirtualBrownianTree

    def run(*, backend, dtype, seed, device):
        bm = VirtualBrownianTree(0.0, 1.0, (4, 2), seed=seed, dtype=_dtype(backend, dtype), backend=backend,
                                 device=device if backend == "torch" else None, levy_area="space-time", tol=2**-8)
        return bm(0.1, 0.7, levy=True), bm.grid_increments([0.0, 0.25, 0.5, 1.0])

    bad = [lambda: VirtualBrownianTree(0.0, 1.0, (2,))(0.5, 0.2), lambda: VirtualBrownianTree(1.0, 0.0, (2,)),
           lambda: VirtualBrownianTree(0.0, 1.0, (2,), levy_area="bogus")]
    return Case(run=run, bad_inputs=bad)


def case_brownian_path() -> Case:
    from stochflow.sde.brownian import BrownianPath

    def run(*, backend, dtype, seed, device):
        bp = BrownianPath([0.0, 0.25, 0.5, 1.0], (4, 2), seed=seed, dtype=_dtype(backend, dtype), backend=backend,
                          device=device if backend == "torch" else None, levy_area="space-time")
        return bp.grid_increments([0.0, 0.5, 1.0], levy=True)

    bad = [lambda: BrownianPath([0.0, 1.0], (2,))(0.2, 0.5), lambda: BrownianPath([0.0, 1.0], (0,))]
    return Case(run=run, bad_inputs=bad)
