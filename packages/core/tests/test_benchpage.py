"""A benchmark script rewrites only its marked section of a page."""

from stochflow.core.benchpage import markers, splice


def test_rerun_replaces_only_the_marked_section():
    page = "# Title\n\nSummary by hand.\n\n## Hand-pasted table\n| a |\n"
    first = splice(page, "generated 1", name="bench", title="# unused")
    begin, end = markers("bench")
    assert first.startswith("# Title\n\n" + begin) and "generated 1" in first
    second = splice(first, "generated 2", name="bench", title="# unused")
    assert "generated 1" not in second and "generated 2" in second
    assert second.count(begin) == 1 and second.count(end) == 1
    assert "Summary by hand." in second and "## Hand-pasted table\n| a |" in second
    assert second.replace("generated 2", "generated 1") == first  # nothing else moved


def test_two_scripts_share_a_page_without_touching_each_other():
    page = splice(None, "tables of a", name="a", title="# Page")
    page = splice(page, "tables of b", name="b", title="# Page")
    again = splice(page, "new tables of a", name="a", title="# Page")
    assert "tables of b" in again and "new tables of a" in again and "\ntables of a" not in again


def test_new_page_and_page_without_title():
    assert splice(None, "fresh", name="x", title="# stochflow-x benchmarks").startswith("# stochflow-x benchmarks\n\n")
    untitled = splice("plain text\n", "gen", name="x", title="# t")
    assert untitled.startswith(markers("x")[0]) and untitled.endswith("plain text\n")
