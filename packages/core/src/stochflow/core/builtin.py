"""stochflow-core's built-in plugin: the CLI commands every installation has.

They are registered through the same hook as any plugin's commands, so a plugin cannot silently
replace them (a duplicate name is an error).
"""

from __future__ import annotations

from stochflow.core.entries import CommandEntry
from stochflow.core.hookspecs import hookimpl


@hookimpl
def stochflow_commands() -> list[CommandEntry]:
    return [
        CommandEntry("plugins", "stochflow.core.cli:plugins_main", "list installed plugins and their status"),
        CommandEntry("list", "stochflow.core.cli:list_main", "list processes, solvers, models, datasets, commands, demos"),
        CommandEntry("demo", "stochflow.core.cli:demo_main", "run the demos of installed packages and write their plots"),
    ]
