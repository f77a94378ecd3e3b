"""Typed, frozen registry entries.

A plugin's hooks return lists of these. An entry names its target lazily as ``"module:attr"``;
nothing is imported until :meth:`Entry.load` is called.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from stochflow.core.errors import EntryError

BACKENDS = ("torch", "jax", "numpy", "none")
"""Backends an entry may declare. ``"none"`` is for commands and demos that take no arrays."""

_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def normalize_name(name: str) -> str:
    """Registry names are lower-case with ``-`` as the only separator (``"Euler_Heun"`` -> ``"euler-heun"``)."""
    if not isinstance(name, str) or not name.strip():
        raise EntryError(f"an entry name must be a non-empty string, got {name!r}")
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def load_target(target: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the attribute."""
    module_name, _, attr_path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return obj


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_freeze(v) for v in value]
        return tuple(sorted(items) if isinstance(value, (set, frozenset)) else items)
    return value


@dataclass(frozen=True)
class Entry:
    """Something a plugin provides.

    Parameters
    ----------
    name
        Registry name; normalised to lower case with ``-``.
    target
        Lazy ``"module:attr"`` reference, imported only by :meth:`load`.
    summary
        One line shown by ``stochflow list``.
    backends
        Array backends the target supports (``"torch"``, ``"jax"``, ``"numpy"``; ``"none"`` for
        commands and demos).
    conformance
        Optional lazy ``"module:attr"`` of a zero-argument callable returning a
        :class:`stochflow.core.testing.Case`, used by the conformance kit.
    plugin
        Filled in by the registry: the plugin that provided the entry.
    """

    kind: ClassVar[str] = "entry"

    name: str
    target: str
    summary: str = ""
    backends: tuple[str, ...] = ("torch",)
    conformance: str | None = None
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", normalize_name(self.name))
        if not isinstance(self.target, str) or not _TARGET.match(self.target):
            raise EntryError(
                f"{self.kind} {self.name!r}: target must look like 'package.module:attr', got {self.target!r}"
            )
        if self.conformance is not None and not _TARGET.match(self.conformance):
            raise EntryError(
                f"{self.kind} {self.name!r}: conformance must look like 'package.module:attr', "
                f"got {self.conformance!r}"
            )
        backends = (self.backends,) if isinstance(self.backends, str) else tuple(self.backends)
        unknown = [b for b in backends if b not in BACKENDS]
        if not backends or unknown:
            raise EntryError(f"{self.kind} {self.name!r}: backends must be a non-empty subset of {BACKENDS}, got {backends}")
        object.__setattr__(self, "backends", backends)
        if "\n" in self.summary:
            raise EntryError(f"{self.kind} {self.name!r}: summary must be one line")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (Mapping, list, set)):
                object.__setattr__(self, f.name, _freeze(value))

    def load(self) -> Any:
        """Import and return the target. Raises :class:`EntryError` naming the entry on failure."""
        try:
            return load_target(self.target)
        except Exception as exc:  # noqa: BLE001 - re-raised with the entry's name
            raise EntryError(
                f"{self.kind} {self.name!r} from plugin {self.plugin or '?'}: cannot load {self.target!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def with_plugin(self, plugin: str) -> Entry:
        from dataclasses import replace

        return replace(self, plugin=plugin)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (used by ``stochflow list --json``)."""
        out = {"kind": self.kind, **asdict(self)}
        for key, value in list(out.items()):
            if isinstance(value, tuple) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
                out[key] = {k: v for k, v in value}
            elif isinstance(value, tuple):
                out[key] = list(value)
        return out


@dataclass(frozen=True)
class ProcessEntry(Entry):
    """A process: what evolves (an SDE, a jump process, a BSDE, a diffusion schedule)."""

    kind: ClassVar[str] = "process"


@dataclass(frozen=True)
class SolverEntry(Entry):
    """A method that advances or solves a process or problem.

    ``applies_to`` names the kinds of problem (``"sde"``, ``"ode"``, ``"ot"``, ``"diffusion"``...).
    ``orders`` maps an order's name to its value (``{"strong": 0.5, "weak": 1.0}``), and
    ``properties`` holds what the solver requires (``{"noise": ("diagonal", "additive"),
    "calculus": "ito"}``). Mappings are stored as sorted tuples of pairs so entries stay hashable.
    """

    kind: ClassVar[str] = "solver"

    applies_to: tuple[str, ...] = ()
    orders: Any = ()
    properties: Any = ()

    def order(self, name: str) -> float | None:
        return dict(self.orders).get(name)

    def property(self, name: str, default: Any = None) -> Any:
        return dict(self.properties).get(name, default)


@dataclass(frozen=True)
class ModelEntry(Entry):
    """Something fitted: an estimator or a learnable model."""

    kind: ClassVar[str] = "model"


@dataclass(frozen=True)
class DatasetEntry(Entry):
    """A data set generated from a seed or shipped inside a package (no downloads)."""

    kind: ClassVar[str] = "dataset"


@dataclass(frozen=True)
class CommandEntry(Entry):
    """A CLI subcommand. The target is ``main(argv: list[str], prog: str) -> int``."""

    kind: ClassVar[str] = "command"
    backends: tuple[str, ...] = ("none",)


@dataclass(frozen=True)
class DemoEntry(Entry):
    """A demo for ``stochflow demo``. The target is ``run(out: pathlib.Path) -> DemoResult``;
    it must finish in under a minute on a 2-core CPU."""

    kind: ClassVar[str] = "demo"
    backends: tuple[str, ...] = ("none",)


ENTRY_TYPES: dict[str, type[Entry]] = {
    cls.kind: cls for cls in (ProcessEntry, SolverEntry, ModelEntry, DatasetEntry, CommandEntry, DemoEntry)
}
"""Entry kind -> class. Plural forms (``"solvers"``) are accepted wherever a kind is asked for."""


_PLURALS = {"processes": "process", "solvers": "solver", "models": "model", "datasets": "dataset",
            "commands": "command", "demos": "demo"}


def normalize_kind(kind: str) -> str:
    """``"solvers"`` or ``"Solver"`` -> ``"solver"``; an unknown kind raises :class:`EntryError`."""
    k = str(kind).strip().lower()
    k = _PLURALS.get(k, k)
    if k not in ENTRY_TYPES:
        raise EntryError(f"unknown entry kind {kind!r}; kinds are: {', '.join(ENTRY_TYPES)}")
    return k
