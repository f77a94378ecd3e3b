"""Conformance case of the ``markov-fbm`` process entry (see :mod:`stochflow.core.testing`)."""

from __future__ import annotations

from stochflow.core.testing import Case


def case_markov_fbm() -> Case:
    from stochflow_fbm import MarkovFBM

    fbm = MarkovFBM(hurst=0.3, n_terms=8)

    def run(*, backend, dtype, seed, device):
        if backend == "jax" and dtype == "float64":
            import jax

            jax.config.update("jax_enable_x64", True)
        return fbm.sample([0.0, 0.25, 0.5, 1.0], n_paths=3, seed=seed, backend=backend, dtype=dtype,
                          device=device if backend == "torch" else None)

    bad = [lambda: MarkovFBM(hurst=1.5), lambda: MarkovFBM(n_terms=0), lambda: fbm.sample([0.5, 0.1]),
           lambda: fbm.sample([0.0, 1.0], n_paths=0)]
    return Case(run=run, bad_inputs=bad)
