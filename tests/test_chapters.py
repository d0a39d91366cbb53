"""Every chapter executes within a minute, without an error, warnings or stderr,
and opens and ends with the same frame."""

import pytest

from tests.notebooks import chapter_names


@pytest.mark.parametrize("name", chapter_names())
def test_chapter_executes_cleanly(executed, name: str) -> None:
    chapter = executed(name)  # raises CellExecutionError on any cell error
    assert chapter.stderr() == [], f"{name} wrote to stderr: {chapter.stderr()}"
    assert chapter.seconds < 60, f"{name} took {chapter.seconds:.0f} s"  # as it says


def test_every_chapter_has_the_same_frame() -> None:
    """What it teaches and needs first at the top; summary and next at the end."""
    from tests.notebooks import BOOK_DIR

    for name in chapter_names():
        text = (BOOK_DIR / f"{name}.md").read_text(encoding="utf-8")
        headings = [line for line in text.splitlines() if line.startswith("## ")]
        opening = text[: text.index(headings[0])]
        assert "```{admonition} In this chapter" in opening, name
        for part in ("**You will learn**", "**You need first**", "**Time to run**"):
            assert part in opening, (name, part)
        assert "**Time to run** under a minute" in opening, name  # tests check it
        ending = [h for h in headings if h != "## Credits"][-2:]
        assert ending == ["## Summary", "## Where to go next"], (name, ending)
        next_part = text[text.index("## Where to go next") :]
        assert "{doc}`" in next_part or "{ref}`" in next_part, name
