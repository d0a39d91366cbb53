"""Every chapter executes without an error and without warnings or stderr output."""

import pytest

from tests.notebooks import chapter_names


@pytest.mark.parametrize("name", chapter_names())
def test_chapter_executes_cleanly(executed, name: str) -> None:
    chapter = executed(name)  # raises CellExecutionError on any cell error
    assert chapter.stderr() == [], f"{name} wrote to stderr: {chapter.stderr()}"
