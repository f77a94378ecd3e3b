"""lazy_exports: names resolve on first use, only then is their submodule imported."""

from __future__ import annotations

import sys

import pytest


def test_names_import_their_submodule_on_first_use(tmp_path, monkeypatch):
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from stochflow.core.lazy import lazy_exports\n"
        "__all__, __getattr__, __dir__ = lazy_exports(__name__, {'VALUE': 'heavy'}, ['tools'])\n")
    (pkg / "heavy.py").write_text("VALUE = 42\n")
    (pkg / "tools.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import lazypkg

    try:
        assert "lazypkg.heavy" not in sys.modules
        assert lazypkg.__all__ == ["VALUE", "tools"] and dir(lazypkg) == ["VALUE", "tools"]
        assert lazypkg.VALUE == 42 and "lazypkg.heavy" in sys.modules
        assert "VALUE" in vars(lazypkg)  # cached: the hook is not called again
        assert lazypkg.tools.X == 1
        with pytest.raises(AttributeError, match="no attribute 'missing'"):
            lazypkg.missing  # noqa: B018
    finally:
        for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
            del sys.modules[name]
