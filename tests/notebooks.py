"""Execute the book's chapters as notebooks and read what their cells printed."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

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
    #: The OME-Zarr images the chapter made (see tests/ome_collector.py): each
    #: {"source": "disk" or "memory", "name": folder or variable, "path": copy}.
    ome_images: list[dict] = field(default_factory=list)

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
    """Names of every chapter, in the order of _toc.yml."""
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


# Run before a chapter when its OME-Zarr images are to be kept (see
# tests/ome_collector.py), and after it to list them.
COLLECT_IMAGES = """
import importlib.util as _importlib_util

_collector_spec = _importlib_util.spec_from_file_location("_ome_collector", {module!r})
_ome_collector = _importlib_util.module_from_spec(_collector_spec)
_collector_spec.loader.exec_module(_ome_collector)
_ome_collector.start({root!r})
"""
REPORT_IMAGES = "_ome_collector.report(globals())"
COLLECTOR = Path(__file__).with_name("ome_collector.py")


def execute_chapter(name: str, collect_dir: Path | None = None) -> ExecutedChapter:
    """Execute ``book/<name>.md`` in a fresh kernel, in the book folder.

    Cells are added around the chapter's to record the figures it draws (see
    ``RECORD_FIGURES``) and, with ``collect_dir``, to keep every OME-Zarr image
    it makes in that folder (see ``tests/ome_collector.py``); they are removed
    again after execution.
    """
    notebook = jupytext.read(BOOK_DIR / f"{name}.md")
    cells = notebook.cells
    before = [RECORD_FIGURES]
    after = [REPORT_FIGURES]
    if collect_dir is not None:
        setup = COLLECT_IMAGES.format(module=str(COLLECTOR), root=str(collect_dir))
        before.append(setup)
        after.insert(0, REPORT_IMAGES)
    notebook.cells = [
        *(nbformat.v4.new_code_cell(source) for source in before),
        *cells,
        *(nbformat.v4.new_code_cell(source) for source in after),
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
    images = json.loads(cell_text(notebook.cells[-2])) if collect_dir else []
    notebook.cells = notebook.cells[len(before) : -len(after)]
    return ExecutedChapter(name, notebook, seconds, figures, images)
