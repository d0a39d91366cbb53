"""Sessions to build the book, run its tests, lint it and open it in JupyterLab.

Run ``nox -l`` to list them and ``nox -s NAME`` to run one.
"""

from __future__ import annotations

import time

import nox

nox.options.sessions = ["lint", "tests", "book"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
BUILD_DIR = "_build"


def install_book(session: nox.Session) -> None:
    """Install the exact, tested versions of everything the chapters use."""
    session.install("-r", "requirements.txt")


def warm_data_cache(session: nox.Session) -> None:
    """Download the sample data once, so no chapter shows a download bar."""
    session.run(
        "python", "-c", "import data_helpers.sample_data as s; s.fetch_heart_data()"
    )


@nox.session(python=PYTHON)
def book(session: nox.Session) -> None:
    """Build the HTML book, executing changed chapters; any warning is an error."""
    install_book(session)
    warm_data_cache(session)
    start = time.perf_counter()
    session.run(
        "jupyter-book",
        "build",
        ".",
        "--path-output",
        ".",
        "--warningiserror",
        "--nitpick",
        "--keep-going",
        *session.posargs,
    )
    session.log(f"Book built in {time.perf_counter() - start:.1f} s")
    session.run("python", "scripts/execution_report.py", f"{BUILD_DIR}/.jupyter_cache")
    session.log(f"Open {BUILD_DIR}/html/index.html in a browser to read it.")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the helper tests, execute every chapter and check its claims."""
    install_book(session)
    session.install("-r", "requirements-test.txt")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check code style with ruff and spelling with codespell."""
    session.install("-r", "requirements-test.txt")
    session.run("ruff", "check", ".")
    session.run(
        "ruff", "format", "--check", "data_helpers", "tests", "scripts", "noxfile.py"
    )
    session.run(
        "codespell",
        "README.md",
        "book",
        "data_helpers",
        "tests",
        "scripts",
        "noxfile.py",
    )


@nox.session(python=PYTHON)
def lab(session: nox.Session) -> None:
    """Open JupyterLab; thanks to jupytext, book/*.md open as notebooks."""
    install_book(session)
    session.run("jupyter", "lab", "book", *session.posargs)


@nox.session(python=PYTHON)
def linkcheck(session: nox.Session) -> None:
    """Check that every external link in the book answers (needs the internet)."""
    install_book(session)
    warm_data_cache(session)
    session.run(
        "jupyter-book", "build", ".", "--path-output", ".", "--builder", "linkcheck"
    )
