"""Benchmark pages (``docs/benchmarks/*.md``) with one generated section per script.

A benchmark script rewrites only the text between its two markers, so what people wrote on the page
around it (readings, side runs, checks) survives every rerun.
"""

from __future__ import annotations


def markers(name: str) -> tuple[str, str]:
    """The begin and end markers (HTML comments, invisible on the built page) of ``name``'s section."""
    return (f"<!-- {name}: generated section, begin (rewritten by each run; edit outside it) -->",
            f"<!-- {name}: generated section, end -->")


def splice(old: str | None, section: str, *, name: str, title: str) -> str:
    """The page ``old`` with ``section`` between ``name``'s markers and everything else kept.

    No page yet (``old is None``): ``title`` (a ``# `` heading line) and the section. A page without
    the markers keeps all of its text, with the marked section inserted after its title line.
    """
    begin, end = markers(name)
    block = f"{begin}\n\n{section.strip()}\n\n{end}"
    if old is None:
        return f"{title}\n\n{block}\n"
    i, j = old.find(begin), old.find(end)
    if i >= 0 and j > i:
        return old[:i] + block + old[j + len(end):]
    head, sep, rest = old.partition("\n")
    if not head.startswith("# "):
        return f"{block}\n\n{old}"
    return f"{head}\n\n{block}\n{sep}{rest.lstrip(chr(10))}" if rest else f"{head}\n\n{block}\n"
