"""stochflow-core: the registry, typed entries, shared errors, estimator bases and the CLI.

Importing this package imports neither torch nor JAX.
"""

from stochflow.core.demo import DemoResult
from stochflow.core.entries import (
    CommandEntry,
    DatasetEntry,
    DemoEntry,
    Entry,
    ModelEntry,
    ProcessEntry,
    SolverEntry,
    normalize_name,
)
from stochflow.core.errors import (
    BackendError,
    ConvergenceError,
    DuplicateEntryError,
    EntryError,
    InputError,
    InputTypeError,
    NotFittedError,
    StochflowError,
    UnknownEntryError,
)
from stochflow.core.estimator import Estimator
from stochflow.core.hookspecs import hookimpl, hookspec
from stochflow.core.registry import Registry, get, get_registry, load, reset_registry
from stochflow.core.seeding import derive_seed

__all__ = [
    "BackendError", "CommandEntry", "ConvergenceError", "DatasetEntry", "DemoEntry", "DemoResult",
    "DuplicateEntryError", "Entry", "EntryError", "Estimator", "InputError", "InputTypeError",
    "ModelEntry", "NotFittedError", "ProcessEntry", "Registry", "SolverEntry", "StochflowError",
    "UnknownEntryError", "derive_seed", "get", "get_registry", "hookimpl", "hookspec", "load",
    "normalize_name", "reset_registry",
]
