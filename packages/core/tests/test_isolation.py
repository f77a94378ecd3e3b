"""Importing stochflow.core pulls in neither torch nor JAX; stochflow is a namespace package."""

from __future__ import annotations

import subprocess
import sys


def test_core_imports_neither_torch_nor_jax():
    code = (
        "import sys, stochflow.core, stochflow.core.cli, stochflow.core.testing, stochflow.core.registry\n"
        "from stochflow.core import get_registry\n"
        "get_registry()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'jax', 'jaxlib'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing stochflow.core imported {out.stdout.strip()}"


def test_stochflow_is_a_namespace_package():
    import stochflow

    assert getattr(stochflow, "__file__", None) is None, "a distribution ships stochflow/__init__.py"
    assert len(list(stochflow.__path__)) >= 1
