"""Sessions to build the book, run its tests, lint it and open it in JupyterLab.

Run ``nox -l`` to list them and ``nox -s NAME`` to run one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "book"]
nox.options.reuse_existing_virtualenvs = True


def find_python(version: str) -> str:
    """The interpreter for Python ``version``, as this machine provides it.

    ``pythonX.Y`` on the PATH when it runs; otherwise the newest pyenv
    installation of that version (pyenv's shims answer only for the versions
    selected with ``pyenv global``/``PYENV_VERSION``, and nox should not need
    the machine's settings changed). Falls back to the plain name, so nox's own
    error says what is missing.
    """
    name = f"python{version}"
    found = shutil.which(name)
    if found and subprocess.run([found, "-c", ""], capture_output=True).returncode == 0:
        return found
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return name
    candidates = Path(root, "versions").glob(f"{version}.*/bin/{name}")

    def release(path: Path) -> tuple[int, ...]:
        patch = path.parents[1].name.removeprefix(f"{version}.")
        return (int(patch),) if patch.isdigit() else (-1,)

    return str(max(candidates, key=release, default=name))


PYTHON = find_python("3.12")  # the Python the book is built and tested with
NEWEST_PYTHON = find_python("3.13")  # `nox -s latest`: the next step
BUILD_DIR = "_build"
PYTHON_PATHS = ("data_helpers", "tests", "scripts", "_ext", "benchmarks", "noxfile.py")


def install_book(session: nox.Session) -> None:
    """Install the exact, tested versions of everything the chapters use."""
    session.install("-r", "requirements.txt")


def warm_data_cache(session: nox.Session) -> None:
    """Download the sample data once, so no chapter shows a download bar."""
    session.run(
        "python", "-c", "import data_helpers.sample_data as s; s.fetch_heart_data()"
    )


def jupyter_book_build(session: nox.Session, *args: str, output: str = ".") -> None:
    """Run ``jupyter-book build`` on the repository root, into ``output``/_build/."""
    session.run("jupyter-book", "build", ".", "--path-output", output, *args)


def build_book(session: nox.Session, *extra: str, output: str = ".") -> None:
    """Build the HTML book with the execution cache; any warning is an error."""
    warm_data_cache(session)
    start = time.perf_counter()
    flags = ("--warningiserror", "--nitpick", "--keep-going")
    jupyter_book_build(session, *flags, *extra, output=output)
    session.log(f"Book built in {time.perf_counter() - start:.1f} s")
    cache = Path(output, BUILD_DIR, ".jupyter_cache")
    session.run("python", "scripts/execution_report.py", str(cache))


@nox.session(python=PYTHON)
def book(session: nox.Session) -> None:
    """Build the HTML book, executing changed chapters; any warning is an error."""
    install_book(session)
    build_book(session, *session.posargs)
    session.log(f"Open {BUILD_DIR}/html/index.html in a browser to read it.")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the helper tests, execute every chapter and check its claims."""
    install_book(session)
    session.install("-r", "requirements-test.txt")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check code style with ruff, types with mypy and spelling with codespell."""
    install_book(session)  # mypy reads the libraries' types
    session.install("-r", "requirements-test.txt")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", *PYTHON_PATHS)
    session.run("mypy")  # on data_helpers: see [tool.mypy] in pyproject.toml
    session.run("codespell", "README.md", "book", *PYTHON_PATHS)


@nox.session(python=PYTHON)
def lab(session: nox.Session) -> None:
    """Open JupyterLab; thanks to jupytext, book/*.md open as notebooks."""
    install_book(session)
    # Make JupyterLab open MyST markdown files as notebooks by default
    # (jupytext's documented setting, stored in this environment only).
    settings = Path(session.virtualenv.location, "share/jupyter/lab/settings")
    settings.mkdir(parents=True, exist_ok=True)
    viewers = {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    overrides = {"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": viewers}}
    (settings / "overrides.json").write_text(json.dumps(overrides, indent=2))
    session.run("jupyter", "lab", "book", *session.posargs)


@nox.session(python=PYTHON)
def notebooks(session: nox.Session) -> None:
    """Regenerate notebooks/*.ipynb, the chapters' copies the launch buttons open.

    Run it after editing a chapter and commit the result; the tests fail while
    a copy is out of date.
    """
    install_book(session)
    session.run("python", "_ext/launch_notebooks.py")


@nox.session(python=PYTHON, reuse_venv=False)
def launch(session: nox.Session) -> None:
    """Run notebooks/*.ipynb as Colab or a JupyterHub would, in a fresh venv.

    The environment has only a kernel, so the first notebook's setup cell must
    install data_helpers[book] (from this checkout rather than GitHub, as a
    wheel, not editable). pip is held to the versions in requirements.txt.
    """
    constraints = Path(session.create_tmp(), "constraints.txt").resolve()
    pins = Path("requirements.txt").read_text(encoding="utf-8").splitlines()
    constraints.write_text("\n".join(p for p in pins if not p.startswith("-e")))
    session.env["PIP_CONSTRAINT"] = str(constraints)
    session.install("nbclient", "ipykernel", "pyyaml")  # pyyaml reads _toc.yml
    requirement = f"data_helpers[book] @ file://localhost{Path.cwd()}"
    session.run("python", "scripts/run_launch_notebooks.py", requirement)


@nox.session(python=PYTHON)
def linkcheck(session: nox.Session) -> None:
    """Check that every external link in the book answers (needs the internet).

    Not run by CI, which has no network. The report is in _build/linkcheck/.
    """
    install_book(session)
    warm_data_cache(session)  # in case a chapter changed and must be executed
    # "custom" puts the report in _build/linkcheck/ and leaves _build/html alone
    # (jupyter-book's --builder linkcheck writes output.txt into _build/html).
    jupyter_book_build(
        session,
        "--builder",
        "custom",
        "--custom-builder",
        "linkcheck",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """Open every page of the built book in headless Chromium and check it.

    Builds _build/html first (re-executing only changed chapters), serves it
    on 127.0.0.1 and opens each page. Needs /usr/bin/chromium and
    /usr/bin/chromedriver (Debian packages chromium and chromium-driver).
    Screenshots go to _build/screenshots/.
    """
    install_book(session)
    session.install("-r", "requirements-test.txt")
    build_book(session)
    start = time.perf_counter()
    session.run("pytest", "tests/browser", *session.posargs)
    session.log(f"Browser tests took {time.perf_counter() - start:.1f} s")


def requirement_names(path: str) -> list[str]:
    """The package names a requirements file pins (without their versions)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    names = [re.split(r"[=<>!~\[ ;]", line.strip(), maxsplit=1)[0] for line in lines]
    return [name for name in names if name and not name.startswith(("#", "-"))]


def direct_dependencies() -> list[str]:
    """The book's direct dependencies, as pyproject.toml declares them.

    data_helpers' own dependencies and its ``book`` extra (everything the
    chapters import), the ``build`` dependency group (what builds and tests the
    book) and the test tools of requirements-test.txt, without pins. Only the
    major-version bounds declared in pyproject.toml remain.
    """
    pyproject = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    return [
        *project["dependencies"],
        *project["optional-dependencies"]["book"],
        *pyproject["dependency-groups"]["build"],
        *requirement_names("requirements-test.txt"),
    ]


def pinned_versions(path: str) -> dict[str, str]:
    pins = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if version:
            pins[canonical(name)] = version.strip()
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@nox.session(python=NEWEST_PYTHON, reuse_venv=False)
def latest(session: nox.Session) -> None:
    """Tests and a full book build with the newest release of every dependency.

    A fresh environment on the newest Python here (3.13) gets the newest
    release of each direct dependency, unpinned (see ``direct_dependencies``),
    and so of what they pull in. It lists what moved from requirements.txt,
    runs the tests, then builds the whole book into .nox/latest/tmp/_build (not
    _build/), executing every chapter. Not run by CI: upstream changes must not block a
    submission. Needs the internet (PyPI) and, like ``book``, the sample data.
    """
    session.install("--upgrade", "pip")
    session.install("-e", ".", *direct_dependencies())
    frozen = session.run("python", "-m", "pip", "freeze", silent=True) or ""
    pins = {**pinned_versions("requirements.txt")}
    pins.update(pinned_versions("requirements-test.txt"))
    moved = []
    for line in frozen.splitlines():
        if line.startswith(("#", "-e")):
            continue  # data_helpers itself, installed from this checkout
        name, _, version = line.partition("==")
        pinned = pins.get(canonical(name))
        if version and pinned != version:
            moved.append(f"{name}: {pinned or 'not pinned'} -> {version}")
    report = Path(session.create_tmp(), "moved.txt")
    report.write_text("\n".join(moved) + "\n", encoding="utf-8")
    session.log(f"{len(moved)} packages differ from requirements*.txt ({report}):")
    for entry in moved:
        session.log(f"  {entry}")
    session.run("python", "-m", "pip", "list", "--outdated")  # held back by bounds
    session.run("pytest", *session.posargs)
    build_book(session, output=session.create_tmp())


@nox.session(python=PYTHON)
def bench_codecs(session: nox.Session) -> None:
    """Codec and chunk-shape grid, larger than the chapter's (minutes; not in CI).

    Writes _build/bench/codecs.json and codecs.md. Pass options after --, e.g.
    ``nox -s bench_codecs -- --quick --shape 128 256 256 --codec-chunks 64``.
    """
    install_book(session)
    warm_data_cache(session)
    session.run("python", "benchmarks/codecs.py", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmark the book's converter against stack-to-chunk, ome-zarr-py,
    ngff-zarr and the limit.

    Not run by CI: it writes 2 GiB and 8 GiB inputs and takes a long time.
    ``nox -s bench -- --size 2GiB`` runs one size (64MiB for a quick check;
    8GiB-wide is 256 slices of 4096 x 4096), ``--format jp2`` converts JPEG
    2000 slices instead, ``--repeats N`` sets the repetitions, ``--workers 1
    2`` runs everything on 1 then 2 workers (the scaling table), ``--check``
    runs ``check --deep`` on each output, ``--rehearsal`` converts the largest
    input that fits the disk (up to 32 GiB) on 2 worker processes and checks
    it, and ``--codec-pipeline zarrs`` tries the zarrs package's Rust codec
    pipeline. zarrs and stack-to-chunk are installed here, for the benchmark
    only (stack-to-chunk 2.3.1 brings tensorstore, joblib and loguru; it
    resolves beside requirements.txt's pins). Results: _build/bench/.
    """
    install_book(session)
    session.install("zarrs==0.2.3")  # only for --codec-pipeline zarrs
    session.install("stack-to-chunk==2.3.1")  # the method stack-to-chunk
    warm_data_cache(session)  # the synthetic stacks are made from the sample
    session.run("python", "benchmarks/bench_convert.py", *session.posargs)
