"""The hook specifications of the ``stochflow`` plugin system.

A plugin is a module (or object) registered through the ``stochflow`` entry-point group. It
implements any of these hooks with :data:`hookimpl`; each returns a list of entries of one kind.
"""

from __future__ import annotations

import pluggy

PROJECT = "stochflow"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def stochflow_processes() -> list:
    """Return a list of :class:`~stochflow.core.entries.ProcessEntry`."""


@hookspec
def stochflow_solvers() -> list:
    """Return a list of :class:`~stochflow.core.entries.SolverEntry`."""


@hookspec
def stochflow_models() -> list:
    """Return a list of :class:`~stochflow.core.entries.ModelEntry`."""


@hookspec
def stochflow_datasets() -> list:
    """Return a list of :class:`~stochflow.core.entries.DatasetEntry`."""


@hookspec
def stochflow_commands() -> list:
    """Return a list of :class:`~stochflow.core.entries.CommandEntry` (CLI subcommands)."""


@hookspec
def stochflow_demos() -> list:
    """Return a list of :class:`~stochflow.core.entries.DemoEntry`."""


@hookspec(historic=True)
def stochflow_add_hookspecs(pluginmanager: pluggy.PluginManager) -> None:
    """Add a domain package's own hook specifications (as pytest's ``pytest_addhooks``).

    Historic: plugins registered later still see it. Call
    ``pluginmanager.add_hookspecs(module_with_specs)`` inside.
    """


ENTRY_HOOKS = {
    "process": "stochflow_processes",
    "solver": "stochflow_solvers",
    "model": "stochflow_models",
    "dataset": "stochflow_datasets",
    "command": "stochflow_commands",
    "demo": "stochflow_demos",
}
