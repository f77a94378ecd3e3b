"""Typed errors shared by every stochflow package.

Bad input raises :class:`InputError` (a ``ValueError``) or :class:`InputTypeError` (a
``TypeError``) *before* any work is done, with a message that says what was wrong and what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class StochflowError(Exception):
    """Base class of every stochflow error."""


class InputError(StochflowError, ValueError):
    """An argument has the right type but a wrong value (shape, sign, range, NaN...)."""


class InputTypeError(StochflowError, TypeError):
    """An argument has the wrong type."""


class EntryError(StochflowError, ValueError):
    """A registry entry is malformed or its target cannot be loaded."""


class DuplicateEntryError(StochflowError, ValueError):
    """Two plugins provide an entry with the same kind and name."""


class BackendError(StochflowError, ImportError):
    """A backend (torch, jax) is needed but not installed, or an entry does not support it."""


class NotFittedError(StochflowError, AttributeError):
    """A model or estimator was used before ``fit``."""


class ConvergenceError(StochflowError, RuntimeError):
    """An iterative method failed in a way its caller asked to be told about."""


class UnknownEntryError(StochflowError, KeyError):
    """No entry of that kind and name; the message lists close matches."""

    def __init__(self, kind: str, name: str, available: Iterable[str]):
        available = sorted(available)
        close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(available) if available else "none installed"
        self.kind, self.name, self.available, self.close_matches = kind, name, available, close
        super().__init__(f"unknown {kind} {name!r}{hint} (available: {listing})")

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


def close_matches_message(what: str, name: str, choices: Iterable[str]) -> str:
    """``"unknown solver 'eulr'; did you mean 'euler'? (choices: ...)"``."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {what} {name!r}{hint} (choices: {', '.join(choices)})"
