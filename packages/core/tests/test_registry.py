"""Registry: built-ins, real entry points, broken plugins, duplicates, allow/deny lists, laziness."""

from __future__ import annotations

import pytest

from stochflow.core import (
    DuplicateEntryError,
    Registry,
    SolverEntry,
    UnknownEntryError,
    get_registry,
    hookimpl,
)
from stochflow.core.registry import BUILTIN_PLUGIN


class _EP:
    """An entry point whose load() returns a given object or raises (for in-process tests)."""

    def __init__(self, name, obj=None, error=None):
        self.name, self._obj, self._error, self.dist = name, obj, error, None

    def load(self):
        if self._error:
            raise self._error
        return self._obj


def _solver_plugin(*names):
    class Plugin:
        @hookimpl
        def stochflow_solvers(self):
            return [SolverEntry(n, "math:sqrt", f"solver {n}") for n in names]

    return Plugin()


def test_builtins_are_registered_first_and_provide_core_commands():
    reg = Registry(entry_points=[])
    assert reg.plugins[0].name == BUILTIN_PLUGIN
    assert reg.plugins[0].source == "builtin"
    assert reg.names("command") == ["demo", "list", "plugins"]
    assert all(e.plugin == BUILTIN_PLUGIN for e in reg.list("command"))


def test_builtins_can_be_left_out():
    reg = Registry(entry_points=[], builtins=False)
    assert reg.plugins == [] and reg.list() == []


def test_real_installed_distribution_is_discovered(good_site):
    data = good_site.registry_json()
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["stochflow-toy"]["version"] == "1.2.3"
    assert plugins["stochflow-toy"]["status"] == "active"
    assert plugins["stochflow-toy"]["source"] == "entry-point"
    entries = {(e["kind"], e["name"]): e for e in data["entries"]}
    solver = entries[("solver", "toy-solver")]  # "Toy_Solver" normalised
    assert solver["plugin"] == "stochflow-toy"
    assert solver["orders"] == {"strong": 0.5, "weak": 1.0}
    assert solver["applies_to"] == ["sde"]
    assert ("process", "toy-process") in entries and ("demo", "toy") in entries


def test_targets_are_not_imported_until_load(good_site):
    out = good_site.python("""
        import sys
        from stochflow.core import get_registry
        entry = get_registry().get("solver", "toy-solver")
        assert "toy_target" not in sys.modules, "target imported by the registry"
        fn = entry.load()
        assert "toy_target" in sys.modules and fn.__name__ == "solve"
        print("ok")
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_plugin_that_fails_to_import_is_reported_not_raised(site):
    site.add_dist("stochflow-broken", "0.0.1", "stochflow-broken", "broken_plugin",
                  "raise RuntimeError('boom at import')\n")
    data = site.registry_json()
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["stochflow-broken"]["status"] == "error: RuntimeError: boom at import"
    assert plugins[BUILTIN_PLUGIN]["status"] == "active"


def test_plugin_whose_hook_fails_is_reported_and_contributes_nothing():
    class Bad:
        @hookimpl
        def stochflow_processes(self):
            raise ValueError("hook exploded")

        @hookimpl
        def stochflow_solvers(self):
            return [SolverEntry("fine", "math:sqrt")]

    reg = Registry(entry_points=[_EP("bad", Bad())])
    info = reg.plugin("bad")
    assert info.status == "error: ValueError: hook exploded"
    assert ("solver", "fine") not in reg
    assert info.entries == ()


def test_hook_returning_wrong_entry_type_is_an_error():
    class Wrong:
        @hookimpl
        def stochflow_processes(self):
            return [SolverEntry("x", "math:sqrt")]

    reg = Registry(entry_points=[_EP("wrong", Wrong())])
    assert reg.plugin("wrong").status.startswith("error: EntryError: hook stochflow_processes must return ProcessEntry")


def test_import_error_in_process():
    reg = Registry(entry_points=[_EP("gone", error=ImportError("No module named 'gone'"))])
    assert reg.plugin("gone").status == "error: ImportError: No module named 'gone'"


def test_duplicate_entries_name_both_plugins():
    with pytest.raises(DuplicateEntryError) as info:
        Registry(entry_points=[_EP("alpha", _solver_plugin("euler")), _EP("beta", _solver_plugin("Euler"))])
    msg = str(info.value)
    assert "'alpha'" in msg and "'beta'" in msg and "solver 'euler'" in msg
    assert "STOCHFLOW_DISABLE_PLUGINS=beta" in msg


def test_duplicate_within_one_plugin_is_an_error_of_that_plugin():
    reg = Registry(entry_points=[_EP("twice", _solver_plugin("a", "A"))])
    assert "more than once" in reg.plugin("twice").status


def test_plugin_cannot_shadow_a_builtin_command():
    from stochflow.core import CommandEntry

    class Shadow:
        @hookimpl
        def stochflow_commands(self):
            return [CommandEntry("plugins", "math:sqrt")]

    with pytest.raises(DuplicateEntryError, match="stochflow-core"):
        Registry(entry_points=[_EP("shadow", Shadow())])


def test_same_name_different_kind_is_fine():
    from stochflow.core import ModelEntry

    class Both:
        @hookimpl
        def stochflow_solvers(self):
            return [SolverEntry("thing", "math:sqrt")]

        @hookimpl
        def stochflow_models(self):
            return [ModelEntry("thing", "math:sqrt")]

    reg = Registry(entry_points=[_EP("both", Both())])
    assert reg.get("solver", "thing").kind == "solver" and reg.get("model", "thing").kind == "model"


def test_allow_list_loads_only_named_plugins():
    imported = []

    class Spy:
        def __init__(self, name):
            self.name = name

        def load(self):
            imported.append(self.name)
            return _solver_plugin(self.name)

    eps = [_EP("one"), _EP("two")]
    eps[0].load, eps[1].load = Spy("one").load, Spy("two").load
    reg = Registry(entry_points=eps, env={"STOCHFLOW_LOAD_PLUGINS": "two"})
    assert imported == ["two"], "a plugin outside the allow-list was imported"
    assert reg.plugin("one").status == "disabled"
    assert reg.plugin("two").status == "active"
    assert reg.plugin(BUILTIN_PLUGIN).status == "active"


def test_block_list_disables_before_import(good_site):
    data = good_site.registry_json(STOCHFLOW_DISABLE_PLUGINS="stochflow-toy")
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["stochflow-toy"]["status"] == "disabled"
    assert not [e for e in data["entries"] if e["plugin"] == "stochflow-toy"]


def test_block_list_resolves_a_duplicate(good_site):
    good_site.add_dist("stochflow-toy2", "0.1", "stochflow-toy2", "toy_plugin2",
                       "from toy_plugin import stochflow_solvers\n")
    out = good_site.python("from stochflow.core import get_registry; get_registry()")
    assert out.returncode != 0 and "DuplicateEntryError" in out.stderr
    data = good_site.registry_json(STOCHFLOW_DISABLE_PLUGINS="stochflow-toy2")
    assert {p["name"]: p["status"] for p in data["plugins"]}["stochflow-toy2"] == "disabled"


def test_unknown_name_lists_close_matches():
    reg = Registry(entry_points=[_EP("p", _solver_plugin("euler", "euler-heun", "milstein"))])
    with pytest.raises(UnknownEntryError) as info:
        reg.get("solvers", "eulr")
    assert isinstance(info.value, KeyError)
    assert "did you mean 'euler'" in str(info.value)
    assert "milstein" in str(info.value)
    assert info.value.close_matches[0] == "euler"


def test_lookup_normalises_names_and_kinds():
    reg = Registry(entry_points=[_EP("p", _solver_plugin("euler-heun"))])
    assert reg.get("Solver", "Euler_Heun").name == "euler-heun"
    assert ("solvers", "EULER HEUN") in reg


def test_list_filters_by_kind_backend_and_problem():
    class P:
        @hookimpl
        def stochflow_solvers(self):
            return [SolverEntry("t", "math:sqrt", backends=("torch",), applies_to=("sde",)),
                    SolverEntry("j", "math:sqrt", backends=("torch", "jax"), applies_to=("ot",))]

    reg = Registry(entry_points=[_EP("p", P())], builtins=False)
    assert [e.name for e in reg.list("solver", backend="jax")] == ["j"]
    assert [e.name for e in reg.list("solver", applies_to="sde")] == ["t"]
    assert [e.name for e in reg.list("solver")] == ["j", "t"]
    assert reg.list("model") == []


def test_domain_package_can_add_its_own_hookspecs():
    import pluggy

    spec = pluggy.HookspecMarker("stochflow")

    class DomainSpecs:
        @spec
        def stochflow_bridge_references(self):
            """Domain hook: reference dynamics a bridge package can refit."""

    class Domain:
        @hookimpl
        def stochflow_add_hookspecs(self, pluginmanager):
            pluginmanager.add_hookspecs(DomainSpecs)

    class Contributor:  # registered *before* the domain package: the historic hook still applies
        @hookimpl
        def stochflow_bridge_references(self):
            return ["lotka-volterra"]

    reg = Registry(entry_points=[_EP("a-contrib", Contributor()), _EP("b-domain", Domain())])
    assert reg.hook.stochflow_bridge_references() == [["lotka-volterra"]]


def test_get_registry_is_cached_and_resettable():
    from stochflow.core import reset_registry

    a = get_registry()
    assert get_registry() is a
    reset_registry()
    assert get_registry() is not a
