"""The registry: one cached pluggy plugin manager and the entries its plugins provide.

Built-ins are registered first, then every plugin of the ``stochflow`` entry-point group. A plugin
whose import or hook fails is recorded with its error (status ``error: ...``) and never crashes the
registry. Two entries of the same kind and name raise :class:`DuplicateEntryError` naming both
plugins. ``STOCHFLOW_LOAD_PLUGINS`` (comma-separated allow-list) and
``STOCHFLOW_DISABLE_PLUGINS`` (block-list) select entry-point plugins before they are imported.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from stochflow.core import hookspecs
from stochflow.core.entries import ENTRY_TYPES, Entry, normalize_kind, normalize_name
from stochflow.core.errors import DuplicateEntryError, EntryError, UnknownEntryError

ENTRY_POINT_GROUP = "stochflow"
LOAD_ENV = "STOCHFLOW_LOAD_PLUGINS"
DISABLE_ENV = "STOCHFLOW_DISABLE_PLUGINS"
BUILTIN_PLUGIN = "stochflow-core"


@dataclass(frozen=True)
class PluginInfo:
    """One row of ``stochflow plugins list``."""

    name: str
    version: str
    status: str  # "active", "disabled" or "error: <message>"
    source: str  # "builtin" or "entry-point"
    entries: tuple[Entry, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status == "active"

    def provides(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.entries:
            out.setdefault(e.kind, []).append(e.name)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "source": self.source,
            "entries": [{"kind": e.kind, "name": e.name} for e in self.entries],
        }


def _env_list(env: Mapping[str, str], key: str) -> set[str] | None:
    raw = env.get(key)
    if raw is None:
        return None
    return {normalize_name(p) for p in raw.split(",") if p.strip()}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


class Registry:
    """All plugins and their entries.

    Parameters
    ----------
    entry_points
        The entry points to load; defaults to the installed ``stochflow`` group.
    builtins
        Register stochflow-core's own built-in plugin first.
    env
        Where to read ``STOCHFLOW_LOAD_PLUGINS`` / ``STOCHFLOW_DISABLE_PLUGINS`` (default ``os.environ``).
    """

    def __init__(
        self,
        entry_points: Iterable[metadata.EntryPoint] | None = None,
        *,
        builtins: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.pluginmanager = pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        pm.hook.stochflow_add_hookspecs.call_historic(kwargs={"pluginmanager": pm})
        self._plugins: dict[str, PluginInfo] = {}
        self._index: dict[tuple[str, str], Entry] = {}

        if builtins:
            from stochflow.core import builtin

            self._add(BUILTIN_PLUGIN, _core_version(), "builtin", lambda: builtin)

        if entry_points is None:
            entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        allow, deny = _env_list(env, LOAD_ENV), _env_list(env, DISABLE_ENV)
        for ep in sorted(entry_points, key=lambda e: e.name):
            name = normalize_name(ep.name)
            version = getattr(getattr(ep, "dist", None), "version", None) or "unknown"
            if (allow is not None and name not in allow) or (deny is not None and name in deny):
                self._plugins[name] = PluginInfo(name, version, "disabled", "entry-point")
                continue
            self._add(name, version, "entry-point", ep.load)

    # -- loading ---------------------------------------------------------------------------
    def _add(self, name: str, version: str, source: str, load) -> None:
        if name in self._plugins:
            self._plugins[name] = PluginInfo(
                name, version, f"error: two plugins are named {name!r}; uninstall one", source
            )
            return
        try:
            plugin = load()
            self.pluginmanager.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - any plugin failure is recorded, never raised
            self._plugins[name] = PluginInfo(name, version, f"error: {_describe(exc)}", source)
            return
        try:
            entries = self._collect(name)
        except Exception as exc:  # noqa: BLE001
            self.pluginmanager.unregister(name=name)
            self._plugins[name] = PluginInfo(name, version, f"error: {_describe(exc)}", source)
            return
        for entry in entries:
            key = (entry.kind, entry.name)
            if key in self._index:
                other = self._index[key].plugin
                raise DuplicateEntryError(
                    f"{entry.kind} {entry.name!r} is provided by both plugin {other!r} and plugin {name!r}; "
                    f"uninstall one, or set {DISABLE_ENV}={name}"
                )
        for entry in entries:
            self._index[(entry.kind, entry.name)] = entry
        self._plugins[name] = PluginInfo(name, version, "active", source, tuple(entries))

    def _collect(self, plugin_name: str) -> list[Entry]:
        entries: list[Entry] = []
        for kind, hook_name in hookspecs.ENTRY_HOOKS.items():
            caller = getattr(self.pluginmanager.hook, hook_name)
            for impl in caller.get_hookimpls():
                if impl.plugin_name != plugin_name:
                    continue
                result = impl.function()
                if result is None:
                    continue
                if isinstance(result, Entry):
                    result = [result]
                for entry in result:
                    if not isinstance(entry, ENTRY_TYPES[kind]):
                        raise EntryError(
                            f"hook {hook_name} must return {ENTRY_TYPES[kind].__name__} objects, got {entry!r}"
                        )
                    entries.append(entry.with_plugin(plugin_name))
        names = [(e.kind, e.name) for e in entries]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise DuplicateEntryError(f"plugin {plugin_name!r} provides {sorted(dup)} more than once")
        return entries

    # -- lookups ---------------------------------------------------------------------------
    @property
    def hook(self) -> Any:
        """The plugin manager's hook relay, for domain packages' own hooks."""
        return self.pluginmanager.hook

    @property
    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, built-ins first, with its status."""
        return sorted(self._plugins.values(), key=lambda p: (p.source != "builtin", p.name))

    def plugin(self, name: str) -> PluginInfo:
        key = normalize_name(name)
        if key not in self._plugins:
            raise UnknownEntryError("plugin", key, self._plugins)
        return self._plugins[key]

    def get(self, kind: str, name: str) -> Entry:
        """The entry of this kind and name; :class:`UnknownEntryError` lists close matches."""
        kind = normalize_kind(kind)
        key = normalize_name(name)
        try:
            return self._index[(kind, key)]
        except KeyError:
            raise UnknownEntryError(kind, key, [n for k, n in self._index if k == kind]) from None

    def list(
        self, kind: str | None = None, *, backend: str | None = None, applies_to: str | None = None
    ) -> list[Entry]:
        """Entries sorted by kind and name, optionally filtered by kind, backend and problem type."""
        kind = normalize_kind(kind) if kind is not None else None
        out = []
        for (k, _), entry in sorted(self._index.items()):
            if kind is not None and k != kind:
                continue
            if backend is not None and backend not in entry.backends:
                continue
            if applies_to is not None and applies_to not in getattr(entry, "applies_to", ()):
                continue
            out.append(entry)
        return out

    def names(self, kind: str) -> list[str]:
        return [e.name for e in self.list(kind)]

    def __contains__(self, key: tuple[str, str]) -> bool:
        kind, name = key
        return (normalize_kind(kind), normalize_name(name)) in self._index


def _core_version() -> str:
    try:
        return metadata.version("stochflow-core")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "unknown"


@functools.lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The process-wide registry, built once (call :func:`reset_registry` after installing plugins)."""
    return Registry()


def reset_registry() -> None:
    """Forget the cached registry; the next :func:`get_registry` rebuilds it."""
    get_registry.cache_clear()


def get(kind: str, name: str) -> Entry:
    """Shortcut for ``get_registry().get(kind, name)``."""
    return get_registry().get(kind, name)


def load(kind: str, name: str) -> Any:
    """Shortcut for ``get_registry().get(kind, name).load()``."""
    return get(kind, name).load()
