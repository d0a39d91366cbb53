"""Every figure a chapter draws has a title, and axis labels where axes show."""

from __future__ import annotations

import pytest

from tests.notebooks import chapter_names, png_count


def figure_problems(number: int, figure: dict) -> list[str]:
    """What a drawn figure lacks: titles, axis labels, colour bar labels."""
    problems = []
    panels = [ax for ax in figure["axes"] if not ax["colorbar"]]
    if not figure["suptitle"] and not (len(panels) == 1 and panels[0]["title"]):
        problems.append(f"figure {number} has no title (suptitle or its one title)")
    for index, ax in enumerate(figure["axes"]):
        where = f"figure {number}, axes {index}"
        if ax["colorbar"]:
            if not any(ax["labels"]):
                problems.append(f"{where}: the colour bar has no label")
            continue
        if len(panels) > 1 and not ax["title"]:
            problems.append(f"{where}: a panel without a title")
        if ax["axis_on"] and not all(label.strip() for label in ax["labels"]):
            problems.append(f"{where}: axes shown without labels {ax['labels']}")
    return problems


@pytest.mark.parametrize("name", chapter_names())
def test_every_figure_is_recorded(executed, name: str) -> None:
    """The recorder saw each figure the chapter shows (else it checks nothing)."""
    chapter = executed(name)
    assert len(chapter.figures) == png_count(chapter.code_cells) > 0


@pytest.mark.parametrize("name", chapter_names())
def test_figures_have_titles_and_labels(executed, name: str) -> None:
    chapter = executed(name)
    problems = [
        problem
        for number, figure in enumerate(chapter.figures, start=1)
        for problem in figure_problems(number, figure)
    ]
    assert problems == []


def test_problems_are_found() -> None:
    """The rules above catch a figure without title, labels or colour bar label."""
    bare = {
        "suptitle": "",
        "axes": [
            {"title": "", "axis_on": True, "colorbar": False, "labels": ["x", ""]},
            {"title": "b", "axis_on": False, "colorbar": False, "labels": ["", ""]},
            {"title": "", "axis_on": True, "colorbar": True, "labels": ["", ""]},
        ],
    }
    assert figure_problems(1, bare) == [
        "figure 1 has no title (suptitle or its one title)",
        "figure 1, axes 0: a panel without a title",
        "figure 1, axes 0: axes shown without labels ['x', '']",
        "figure 1, axes 2: the colour bar has no label",
    ]
