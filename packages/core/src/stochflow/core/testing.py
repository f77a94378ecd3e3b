"""The conformance kit: checks a plugin's own tests run on its entries (as scikit-learn's
``check_estimator``). It needs nothing but stochflow-core and the plugin's own dependencies.

A process, solver, model or dataset entry names a *conformance case* (``conformance=
"pkg.module:case"``), a zero-argument callable returning a :class:`Case`::

    def case():
        def run(*, backend, dtype, seed, device):
            ...  # build a small input in that framework/dtype/device and call the entry
            return output_array          # or a tuple/list/dict of arrays
        return Case(run=run, bad_inputs=[lambda: solve(..., dt=-1.0)])

Then, in the plugin's tests::

    from stochflow.core.testing import check_plugin
    def test_conformance():
        check_plugin("my-plugin")
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from stochflow.core.arrays import device_of, dtype_name, framework_of
from stochflow.core.entries import Entry


class ConformanceError(AssertionError):
    """An entry failed a conformance check; the message names the entry and the check."""


@dataclass(frozen=True)
class Case:
    """How the kit exercises one entry.

    Parameters
    ----------
    run
        ``run(*, backend, dtype, seed, device)`` builds a small input in that backend, dtype
        (``"float32"``/``"float64"``) and device and returns the entry's output arrays.
    bad_inputs
        Zero-argument callables, each of which must raise a clear ``ValueError``/``TypeError``
        (stochflow's :class:`~stochflow.core.errors.InputError` and friends are both).
    backends
        Backends to exercise (default: all that the entry declares).
    dtypes
        Floating dtypes to exercise; outputs must have the same dtype.
    stochastic
        Whether a different seed must change the output.
    """

    run: Callable[..., Any]
    bad_inputs: Sequence[Callable[[], Any]] = ()
    backends: tuple[str, ...] | None = None
    dtypes: tuple[str, ...] = ("float32", "float64")
    stochastic: bool = True


ARRAY_KINDS = ("process", "solver", "model", "dataset")


def _fail(entry: Entry, check: str, message: str) -> ConformanceError:
    return ConformanceError(f"{entry.kind} {entry.name!r} ({entry.plugin or 'no plugin'}) fails {check}: {message}")


def _leaves(out: Any) -> list[Any]:
    if isinstance(out, dict):
        return [x for v in out.values() for x in _leaves(v)]
    if isinstance(out, (list, tuple)):
        return [x for v in out for x in _leaves(v)]
    if hasattr(out, "__dataclass_fields__"):
        return [x for name in out.__dataclass_fields__ for x in _leaves(getattr(out, name))]
    return [out] if framework_of(out) in ("torch", "jax", "numpy") and hasattr(out, "shape") else []


def _to_numpy(x: Any):
    import numpy as np

    if framework_of(x) == "torch":
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _backend_available(backend: str) -> bool:
    module = {"torch": "torch", "jax": "jax", "numpy": "numpy"}.get(backend)
    return module is None or importlib.util.find_spec(module) is not None


def _is_float(x: Any) -> bool:
    return dtype_name(x).startswith(("float", "bfloat"))


def iter_checks(entry: Entry, *, devices: Sequence[str] = ("cpu",)) -> Iterator[tuple[str, Callable[[], None]]]:
    """Yield ``(check name, check)`` pairs for one entry; each check raises :class:`ConformanceError`."""

    def loads() -> None:
        try:
            target = entry.load()
        except Exception as exc:  # noqa: BLE001
            raise _fail(entry, "loads", str(exc)) from exc
        if entry.kind in ("command", "demo") and not callable(target):
            raise _fail(entry, "loads", f"target {entry.target!r} is not callable")

    yield "loads", loads
    if entry.kind not in ARRAY_KINDS:
        return

    def get_case() -> Case:
        if entry.conformance is None:
            raise _fail(entry, "has a conformance case", "the entry declares no conformance= case")
        from stochflow.core.entries import load_target

        made = load_target(entry.conformance)
        case = made() if callable(made) and not isinstance(made, Case) else made
        if not isinstance(case, Case):
            raise _fail(entry, "has a conformance case", f"{entry.conformance} gave {type(case).__name__}, not Case")
        return case

    def backends_declared_work() -> None:
        case = get_case()
        for backend in case.backends or entry.backends:
            if backend not in entry.backends:
                raise _fail(entry, "backends", f"case exercises {backend!r}, which the entry does not declare")
            if not _backend_available(backend):
                raise _fail(entry, "backends", f"declares backend {backend!r} but it is not installed; "
                            "install it or drop it from backends")
            for dtype in case.dtypes:
                for device in devices:
                    try:
                        out = case.run(backend=backend, dtype=dtype, seed=0, device=device)
                    except Exception as exc:  # noqa: BLE001
                        where = f"runs on {backend}/{dtype}/{device}"
                        raise _fail(entry, where, f"{type(exc).__name__}: {exc}") from exc
                    leaves = _leaves(out)
                    if not leaves:
                        raise _fail(entry, "output", "the case returned no arrays")
                    for leaf in leaves:
                        fw = framework_of(leaf)
                        if fw != backend:
                            raise _fail(entry, "output framework", f"input was {backend}, output is {fw}")
                        if _is_float(leaf) and dtype_name(leaf) != dtype:
                            raise _fail(entry, "output dtype", f"input was {dtype}, output is {dtype_name(leaf)}")
                        if device_of(leaf).split(":")[0] != device.split(":")[0]:
                            raise _fail(entry, "output device", f"input was on {device}, output on {device_of(leaf)}")

    def seed_reproduces() -> None:
        import numpy as np

        case = get_case()
        for backend in case.backends or entry.backends:
            if not _backend_available(backend):
                continue  # reported by backends_declared_work
            dtype = case.dtypes[-1]
            a = [_to_numpy(x) for x in _leaves(case.run(backend=backend, dtype=dtype, seed=1234, device="cpu"))]
            b = [_to_numpy(x) for x in _leaves(case.run(backend=backend, dtype=dtype, seed=1234, device="cpu"))]
            if len(a) != len(b) or not all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b)):
                raise _fail(entry, "seed reproduces", f"two runs with seed 1234 on {backend} differ")
            if case.stochastic:
                c = [_to_numpy(x) for x in _leaves(case.run(backend=backend, dtype=dtype, seed=4321, device="cpu"))]
                if all(np.array_equal(x, y) for x, y in zip(a, c)):
                    raise _fail(entry, "seed matters", f"seeds 1234 and 4321 give identical output on {backend}")

    def bad_input_raises() -> None:
        case = get_case()
        if not case.bad_inputs:
            raise _fail(entry, "bad input", "the case lists no bad inputs")
        for i, bad in enumerate(case.bad_inputs):
            try:
                bad()
            except (ValueError, TypeError, LookupError) as exc:
                if len(str(exc)) < 10:
                    raise _fail(entry, "bad input", f"bad input #{i} raised {type(exc).__name__} with an unclear "
                                f"message {str(exc)!r}") from exc
            except Exception as exc:  # noqa: BLE001
                raise _fail(entry, "bad input", f"bad input #{i} raised {type(exc).__name__}: {exc}; expected a "
                            "ValueError or TypeError") from exc
            else:
                raise _fail(entry, "bad input", f"bad input #{i} ran without raising")

    yield "backends", backends_declared_work
    yield "seed", seed_reproduces
    yield "bad-input", bad_input_raises


def check_entry(entry: Entry, *, devices: Sequence[str] = ("cpu",)) -> None:
    """Run every conformance check on one entry; raise :class:`ConformanceError` on the first failure."""
    for _, check in iter_checks(entry, devices=devices):
        check()


def check_plugin(name: str, *, devices: Sequence[str] = ("cpu",), registry=None) -> list[Entry]:
    """Check that plugin ``name`` is installed and active, and run :func:`check_entry` on each of its
    entries. Returns the entries checked."""
    from stochflow.core.registry import get_registry

    registry = registry or get_registry()
    info = registry.plugin(name)
    if not info.ok:
        raise ConformanceError(f"plugin {info.name!r} is not active: {info.status}")
    if not info.entries:
        raise ConformanceError(f"plugin {info.name!r} provides no entries")
    for entry in info.entries:
        check_entry(entry, devices=devices)
    return list(info.entries)


def load_script(path: str | Path, name: str | None = None) -> ModuleType:
    """The script at ``path`` (a benchmark's ``run.py``, say) executed as a module named ``name``
    (default: its file stem), without putting its folder on ``sys.path``: what a package's tests use
    to reach a script that is not part of the installed package."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no Python script at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
