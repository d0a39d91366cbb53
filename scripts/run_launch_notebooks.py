"""Run notebooks/*.ipynb, in the order of _toc.yml, as Colab or a JupyterHub would.

Run it in an environment that has only a kernel (ipykernel) and nbclient, not
the book's requirements: the first cell of the first notebook must then install
``data_helpers[book]`` itself, and every notebook must run to the end without
an error and without stderr output. The setup cell normally installs from
GitHub; here it installs the REQUIREMENT given instead (this checkout).

Usage: python scripts/run_launch_notebooks.py REQUIREMENT
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for _ext.launch_notebooks: the list of chapters
from _ext.launch_notebooks import chapter_sources, notebook_path  # noqa: E402

# Only for that import: with the checkout on the path, its data_helpers folder
# would pass for an installed package in the checks below.
sys.path.remove(str(REPO))

GITHUB_REQUIREMENT = "data_helpers[book] @ git+https://github.com/"


def stderr_of(cell: nbformat.NotebookNode) -> list[str]:
    """What a cell wrote to stderr."""
    return [
        output.text
        for output in cell.get("outputs", [])
        if output.output_type == "stream" and output.name == "stderr"
    ]


def run(path: Path, requirement: str, folder: Path) -> float:
    """Execute one launch notebook in ``folder``; return the seconds it took."""
    notebook = nbformat.read(path, as_version=4)
    setup = notebook.cells[1]
    if GITHUB_REQUIREMENT not in setup.source:
        sys.exit(f"{path.name}: its second cell does not install {GITHUB_REQUIREMENT}")
    start = setup.source.index('"data_helpers[')
    end = setup.source.index('"\n', start)
    setup.source = setup.source[:start] + repr(requirement) + setup.source[end + 1 :]
    client = NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    began = time.perf_counter()
    client.execute()  # raises CellExecutionError, with the cell, on any error
    seconds = time.perf_counter() - began
    # The setup cell may show pip's own notices; no chapter cell may write stderr.
    written = [text for cell in notebook.cells[2:] for text in stderr_of(cell)]
    if written:
        sys.exit(f"{path.name} wrote to stderr:\n" + "\n".join(written))
    return seconds


def main() -> None:
    """Run every launch notebook; the first must install the helpers."""
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    requirement = sys.argv[1]
    if importlib.util.find_spec("data_helpers") is not None:
        sys.exit(
            "data_helpers is installed in this environment already, so the "
            "setup cell would not be tested: run this in a fresh environment."
        )
    notebooks = [REPO / notebook_path(chapter) for chapter in chapter_sources()]
    missing = [path.name for path in notebooks if not path.is_file()]
    if not notebooks or missing:
        sys.exit(f"Missing in notebooks/: {missing}; run `nox -s notebooks` first.")
    with tempfile.TemporaryDirectory() as folder:
        for path in notebooks:
            seconds = run(path, requirement, Path(folder))
            print(f"{path.name}: ran without error in {seconds:.1f} s")
    importlib.invalidate_caches()
    if importlib.util.find_spec("data_helpers") is None:
        sys.exit("The setup cells ran, but data_helpers is still not installed.")
    print("The first notebook's setup cell installed data_helpers[book].")


if __name__ == "__main__":
    main()
