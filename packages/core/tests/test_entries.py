"""Entries: validation, normalisation, hashing, JSON form, lazy loading."""

from __future__ import annotations

import dataclasses

import pytest

from stochflow.core import CommandEntry, EntryError, ModelEntry, ProcessEntry, SolverEntry
from stochflow.core.entries import normalize_kind, normalize_name


@pytest.mark.parametrize("raw,norm", [("Euler", "euler"), ("euler_heun", "euler-heun"),
                                      (" Reversible Heun ", "reversible-heun"), ("dpm-solver++2m", "dpm-solver++2m")])
def test_names_are_normalised(raw, norm):
    assert normalize_name(raw) == norm
    assert SolverEntry(raw, "math:sqrt").name == norm


@pytest.mark.parametrize("kwargs,match", [
    ({"name": "", "target": "math:sqrt"}, "non-empty"),
    ({"name": "x", "target": "math.sqrt"}, "package.module:attr"),
    ({"name": "x", "target": "math:sqrt", "backends": ("cuda",)}, "backends"),
    ({"name": "x", "target": "math:sqrt", "backends": ()}, "backends"),
    ({"name": "x", "target": "math:sqrt", "summary": "two\nlines"}, "one line"),
    ({"name": "x", "target": "math:sqrt", "conformance": "nope"}, "conformance"),
])
def test_malformed_entries_are_rejected(kwargs, match):
    with pytest.raises(EntryError, match=match):
        ProcessEntry(**kwargs)


def test_entries_are_frozen_and_hashable():
    e = SolverEntry("euler", "math:sqrt", orders={"strong": 0.5, "weak": 1.0},
                    properties={"noise": ["diagonal", "additive"], "calculus": "ito"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.name = "other"  # type: ignore[misc]
    assert hash(e) == hash(SolverEntry("euler", "math:sqrt", orders={"weak": 1.0, "strong": 0.5},
                                       properties={"calculus": "ito", "noise": ["diagonal", "additive"]}))
    assert e.order("strong") == 0.5 and e.order("missing") is None
    assert e.property("noise") == ("diagonal", "additive")
    d = e.to_dict()
    assert d["kind"] == "solver" and d["orders"] == {"strong": 0.5, "weak": 1.0}
    assert d["properties"]["calculus"] == "ito" and d["backends"] == ["torch"]


def test_string_backend_is_accepted():
    assert ModelEntry("m", "math:sqrt", backends="jax").backends == ("jax",)


def test_commands_default_to_no_backend():
    assert CommandEntry("c", "math:sqrt").backends == ("none",)


def test_load_imports_target_and_wraps_errors():
    import math

    assert SolverEntry("s", "math:sqrt").load() is math.sqrt
    with pytest.raises(EntryError, match="cannot load 'no_such_module_q:f'.*ModuleNotFoundError"):
        SolverEntry("s", "no_such_module_q:f").load()
    with pytest.raises(EntryError, match="AttributeError"):
        SolverEntry("s", "math:not_there").load()


@pytest.mark.parametrize("raw,kind", [("solvers", "solver"), ("Processes", "process"), ("model", "model"),
                                      ("demos", "demo"), ("datasets", "dataset")])
def test_kinds_accept_plurals(raw, kind):
    assert normalize_kind(raw) == kind


def test_unknown_kind():
    with pytest.raises(EntryError, match="unknown entry kind 'widgets'"):
        normalize_kind("widgets")
