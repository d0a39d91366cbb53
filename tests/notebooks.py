"""Execute the book's chapters as notebooks and read what their cells printed."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

import jupytext
import nbformat
from nbclient import NotebookClient

from _ext.launch_notebooks import BOOK_DIR as BOOK_FOLDER
from _ext.launch_notebooks import REPO, chapter_sources

BOOK_DIR = REPO / BOOK_FOLDER
CELL_TIMEOUT = 600
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class ExecutedChapter:
    """A chapter after execution, with helpers to look at its outputs."""

    name: str
    notebook: nbformat.NotebookNode
    seconds: float
    figures: list[dict] = field(default_factory=list)

    @property
    def code_cells(self) -> list[nbformat.NotebookNode]:
        return [c for c in self.notebook.cells if c.cell_type == "code"]

    def cell(self, tag: str) -> nbformat.NotebookNode:
        """The one code cell carrying ``tag`` in its metadata tags."""
        found = [c for c in self.code_cells if tag in c.metadata.get("tags", [])]
        if len(found) != 1:
            raise LookupError(f"{self.name}: {len(found)} cells tagged {tag!r}")
        return found[0]

    def text(self, tag: str) -> str:
        """All plain text a tagged cell showed (stdout and text/plain results)."""
        return cell_text(self.cell(tag))

    def images(self, tag: str) -> int:
        """How many PNG images a tagged cell displayed."""
        return png_count([self.cell(tag)])

    def stderr(self) -> list[str]:
        """Everything any cell wrote to stderr (warnings included)."""
        return [
            o.text
            for c in self.code_cells
            for o in c.outputs
            if o.output_type == "stream" and o.name == "stderr"
        ]

    def markdown(self) -> str:
        return "\n".join(
            c.source for c in self.notebook.cells if c.cell_type == "markdown"
        )


def png_count(cells: list[nbformat.NotebookNode]) -> int:
    """How many image/png outputs the given cells hold."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in cells
        for output in cell.get("outputs", [])
    )


def cell_text(cell: nbformat.NotebookNode) -> str:
    """Plain text a cell showed, with terminal colour codes removed."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stdout":
            parts.append(output.text)
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return ANSI_ESCAPE.sub("", "".join(parts))


def chapter_names() -> list[str]:
    """Names of every chapter notebook (MyST markdown with a kernel) in book/."""
    return [path.stem for path in chapter_sources()]


# Run before a chapter: every time matplotlib renders a figure (as the inline
# backend does to show it), note its titles and labels. Through the public
# FigureCanvasBase.print_figure, whichever way the figure is displayed.
RECORD_FIGURES = """
import matplotlib.backend_bases as _backend_bases

_figures_drawn = []
_print_figure = _backend_bases.FigureCanvasBase.print_figure


def _describe(ax):
    titles = [ax.get_title(loc) for loc in ("left", "center", "right")]
    return {
        "title": " ".join(titles).strip(),
        "axis_on": bool(ax.axison),
        "colorbar": hasattr(ax, "_colorbar"),
        "labels": [ax.get_xlabel(), ax.get_ylabel()]
        + ([ax.get_zlabel()] if hasattr(ax, "get_zlabel") else []),
    }


def _recording_print_figure(self, *args, **kwargs):
    figure = self.figure
    _figures_drawn.append({
        "suptitle": figure.get_suptitle(),
        "axes": [_describe(ax) for ax in figure.axes if ax.get_visible()],
    })
    return _print_figure(self, *args, **kwargs)


_backend_bases.FigureCanvasBase.print_figure = _recording_print_figure
"""
# sys.stdout.write, not print: a chapter may have replaced print (rich's print).
REPORT_FIGURES = "import json, sys; _ = sys.stdout.write(json.dumps(_figures_drawn))"


def execute_chapter(name: str) -> ExecutedChapter:
    """Execute ``book/<name>.md`` in a fresh kernel, in the book folder.

    Two cells are added around the chapter's to record the figures it draws
    (see ``RECORD_FIGURES``); they are removed again after execution.
    """
    notebook = jupytext.read(BOOK_DIR / f"{name}.md")
    cells = notebook.cells
    notebook.cells = [
        nbformat.v4.new_code_cell(RECORD_FIGURES),
        *cells,
        nbformat.v4.new_code_cell(REPORT_FIGURES),
    ]
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(BOOK_DIR)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    figures = json.loads(cell_text(notebook.cells[-1]))
    notebook.cells = notebook.cells[1:-1]
    return ExecutedChapter(name, notebook, seconds, figures)
