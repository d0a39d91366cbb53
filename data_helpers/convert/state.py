"""A conversion's state while it runs: its manifest and done markers."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import zarr

from data_helpers.codec_names import DEFAULT_CODEC
from data_helpers.convert.plan import SPACE_AXES, Downsampling, Plan, halving
from data_helpers.ome import (
    OmeZarrVersion,
    image_version,
    image_voxel_size,
    multiscale_axes,
    multiscale_metadata,
    version_of_format,
)
from data_helpers.wording import number

STATE_FOLDER = ".conversion"  # in the output: manifest.json and done/ markers
#: Group attribute of a finished output: a fingerprint of what it was made from.
FINGERPRINT_KEY = "data_helpers_conversion"
#: 2: block tasks own ``Plan.block_shape()``, recorded as ``block``.
MANIFEST_VERSION = 2
#: What to do with an output: start it, finish an interrupted one, or nothing.
ResumeState = Literal["new", "resume", "finished"]
Manifest = dict[str, Any]


class ConversionState(Protocol):
    """Where a conversion keeps its manifest and done markers while it runs.

    ``FolderState`` keeps them as files; an object store can keep them as
    objects beside the image.
    """

    def manifest(self) -> Manifest | None:
        """The manifest of the conversion under way, or None."""
        ...

    def begin(self, manifest: Manifest) -> None:
        """Record the manifest, and make room for done markers."""
        ...

    def done(self) -> set[str]:
        """Names of the tasks that wrote all their chunks."""
        ...

    def mark_done(self, name: str) -> None:
        """Record that task ``name`` wrote all its chunks (after they are written)."""
        ...

    def clear(self) -> None:
        """Forget manifest and markers: the conversion is finished."""
        ...


@dataclass(frozen=True)
class FolderState:
    """The state as files in the output's hidden ``.conversion`` folder."""

    output: Path

    @property
    def folder(self) -> Path:
        return self.output / STATE_FOLDER

    def manifest(self) -> Manifest | None:
        path = self.folder / "manifest.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def begin(self, manifest: Manifest) -> None:
        (self.folder / "done").mkdir(parents=True, exist_ok=True)
        (self.folder / "manifest.json").write_text(json.dumps(manifest))

    def done(self) -> set[str]:
        folder = self.folder / "done"
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    def mark_done(self, name: str) -> None:
        (self.folder / "done" / name).touch()

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def edges(values: tuple[int, ...] | None, axes: Sequence[str]) -> Any:
    """Chunk or shard edges as a manifest records them: one number for ``z, y,
    x`` cubes (as version 2 wrote them), else a list; None for none."""
    if values is None:
        return None
    if len(set(values)) == 1 and tuple(axes) == SPACE_AXES:
        return values[0]
    return list(values)


def manifest_of(
    fingerprint: dict[str, Any],
    plan: Plan,
    voxel_size: Sequence[float],
    unit: str,
    version: OmeZarrVersion | None = None,
) -> Manifest:
    """What a conversion was made from: the input's ``fingerprint``, the options.

    Written as version 2 wrote it for ``z, y, x`` cubes halved at every level
    (chunks and shards as one edge), so that outputs made before resume and
    stay finished; axes, per-axis edges and factors only where they differ.
    The OME-Zarr ``version`` (default: the one the plan's Zarr format stands
    for) is written only where the format does not say it, for 0.6: 0.4 and
    0.5 manifests stay as they were.
    """
    manifest: Manifest = {
        "version": MANIFEST_VERSION,
        **fingerprint,
        "shape": list(plan.shape),
        "dtype": plan.dtype,
        "chunks": edges(plan.chunks, plan.axes),
        "levels": plan.levels,
        "zarr_format": plan.zarr_format,
        "shards": edges(plan.shards, plan.axes),
        # which voxels each task name stands for: a resume must agree
        "block": list(plan.block_shape()),
        "voxel_size": [float(v) for v in voxel_size],
        "unit": unit,
    }
    if plan.axes != SPACE_AXES:
        manifest["axes"] = list(plan.axes)
    if any(f != halving(plan.axes) for f in plan.factors):
        manifest["factors"] = [list(f) for f in plan.factors]
    if plan.method is Downsampling.MODE:
        manifest["labels"] = True
    if plan.codec != DEFAULT_CODEC:
        manifest["codec"] = plan.codec
    if version is not None and version != version_of_format(plan.zarr_format):
        manifest["ome_zarr_version"] = version
    return manifest


#: Manifest entries a command-line option sets, and the option, in message order.
OPTIONS = {
    "voxel_size": "--voxel-size",
    "unit": "--unit",
    "chunks": "--chunks",
    "shards": "--shards",
    "levels": "--levels",
    "zarr_format": "--zarr-format",
    "ome_zarr_version": "--ome-zarr-version",
    "codec": "--codec",
}


def _with_version(manifest: Manifest) -> Manifest:
    """``manifest`` with its OME-Zarr version and codec spelled out (0.4 and
    0.5 manifests leave the version to ``zarr_format``, and every manifest
    leaves out the default codec), for comparing two of them."""
    if "zarr_format" not in manifest:
        return manifest
    spelled = {"codec": DEFAULT_CODEC, **manifest}
    if "ome_zarr_version" not in manifest:
        spelled["ome_zarr_version"] = version_of_format(manifest["zarr_format"])
    return spelled


def _words(value: Any) -> str:
    """A manifest value as the command line writes it: ``1 1 1``, ``none``."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return " ".join(_words(v) for v in value)
    return number(value) if isinstance(value, float) else str(value)


def _input(value: Any) -> str:
    """The input's shape (``12 x 16 x 16``) or dtype, for messages."""
    return " x ".join(map(str, value)) if isinstance(value, list) else str(value)


def _rerun(old: Manifest, keys: list[str]) -> str:
    """``rerun with --chunks 16 and without --shards``: the options of ``old``."""
    given = [f"{OPTIONS[k]} {_words(old[k])}" for k in keys if old[k] is not None]
    absent = [OPTIONS[k] for k in keys if old[k] is None]
    parts = [f"with {' '.join(given)}"] if given else []
    parts += [f"without {' '.join(absent)}"] if absent else []
    return "rerun " + " and ".join(parts)


def explain_mismatch(
    old: Manifest, new: Manifest, output: str, folder: str, finished: bool = False
) -> str:
    """Why an existing output cannot be resumed with this input, in one line.

    ``old``: the manifest of the conversion under way in ``output``, or for a
    ``finished`` one the options its metadata records (``recorded_options``).
    Names each option and input property that differs, before -> now, and
    the rerun that keeps the work done.
    """
    old, new = _with_version(old), _with_version(new)
    old_files = {name: (size, t) for name, size, t in old.get("slices", [])}
    new_files = {name: (size, t) for name, size, t in new.get("slices", [])}
    same_options = all(
        old.get(k) == new.get(k)
        for k in old.keys() | new.keys()
        if k not in ("slices", "shape")
    )
    if same_options and old_files.keys() >= new_files.keys():
        for name in old_files:
            if name not in new_files:
                return (
                    f"Slice {str(Path(folder, name))!r} is missing, but the conversion "
                    f"into {output!r} started with it: put it back, or pass "
                    "--overwrite to start again."
                )
    if same_options and old_files.keys() == new_files.keys():
        for name, value in new_files.items():
            if old_files[name] != value:
                return (
                    f"Slice {str(Path(folder, name))!r} changed (size or modification "
                    f"time) since the conversion into {output!r} started: pass "
                    "--overwrite to start again from the current slices."
                )
    options = [k for k in OPTIONS if k in old and old[k] != new.get(k)]
    if "ome_zarr_version" in options and "zarr_format" in options:
        options.remove("zarr_format")  # the version says the format
    changes = [f"{OPTIONS[k]} {_words(old[k])} -> {_words(new[k])}" for k in options]
    inputs = [k for k in ("shape", "dtype") if k in old and old[k] != new[k]]
    changes += [f"slices' {k} {_input(old[k])} -> {_input(new[k])}" for k in inputs]
    added = [name for name in new_files if old_files and name not in old_files]
    if added:
        changes.append(
            f"new slices {', '.join(added[:3])}" + (", ..." * (len(added) > 3))
        )
    what = "a finished conversion" if finished else "a conversion"
    head = f"{output!r} already holds {what} of other slices or with other options"
    again = "pass --overwrite to start again"
    if not changes and finished and old:
        return (
            f"{head}: its options and slices' shape are this run's, so its slices "
            "changed since (or another version of the converter made it); "
            f"{again}, or choose another output."
        )
    if not changes and not finished:
        return (
            f"{head}: another version of the converter started it, and cut the "
            f"work otherwise; {again}, or choose another output."
        )
    if not changes:
        return f"{head}: choose another output, or pass --overwrite to replace it."
    listed = f"{head} (before -> now: {', '.join(changes)})"
    if inputs or added:
        return f"{listed}: give the slices it was made from, or {again}."
    keep = "to keep it as it is" if finished else "to resume it"
    return f"{listed}: {_rerun(old, options)} {keep}, or {again}."


def recorded_options(output: Any) -> Manifest:
    """The options and input shape a finished output's metadata records, as in
    its manifest (the manifest itself is deleted when a conversion finishes).

    ``output``: what zarr opens (``Output.store("r")``); ``{}`` if unreadable.
    """
    try:
        group = zarr.open_group(output, mode="r")
        metadata = multiscale_metadata(group)
        level = group[metadata["datasets"][0]["path"]]
        voxel_size, unit = image_voxel_size(group)
    except (zarr.errors.BaseZarrError, FileNotFoundError, KeyError, ValueError):
        return {}
    if not isinstance(level, zarr.Array):
        return {}
    axes = tuple(axis["name"] for axis in multiscale_axes(metadata))
    return {
        "shape": list(level.shape),
        "dtype": np.dtype(level.dtype).name,
        "chunks": edges(level.chunks, axes),
        "levels": len(metadata["datasets"]),
        "zarr_format": level.metadata.zarr_format,
        "shards": edges(level.shards, axes),
        "voxel_size": voxel_size,
        "unit": unit,
        "ome_zarr_version": image_version(group),
    }


def manifest_hash(manifest: Manifest) -> str:
    """A short fingerprint of a manifest, kept in a finished output's attributes."""
    text = json.dumps(manifest, sort_keys=True).encode()
    return hashlib.sha256(text).hexdigest()


def finished_from(output: Any) -> str | None:
    """The manifest fingerprint a finished output records, if any.

    ``output``: what zarr opens (``Output.store("r")``).
    """
    try:
        attributes: dict[str, Any] = zarr.open_group(output, mode="r").attrs.asdict()
    except (zarr.errors.BaseZarrError, FileNotFoundError):  # no group (yet)
        return None
    fingerprint: dict[str, str] = attributes.get(FINGERPRINT_KEY, {})
    return fingerprint.get("manifest_sha256")
