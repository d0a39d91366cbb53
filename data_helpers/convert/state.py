"""A conversion's state while it runs: its manifest and done markers."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import zarr

from data_helpers.convert.plan import SPACE_AXES, Downsampling, Plan, halving
from data_helpers.ome import OmeZarrVersion, version_of_format

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

    def edges(values: tuple[int, ...] | None) -> int | list[int] | None:
        if values is None:
            return None
        if len(set(values)) == 1 and plan.axes == SPACE_AXES:
            return values[0]
        return list(values)

    manifest: Manifest = {
        "version": MANIFEST_VERSION,
        **fingerprint,
        "shape": list(plan.shape),
        "dtype": plan.dtype,
        "chunks": edges(plan.chunks),
        "levels": plan.levels,
        "zarr_format": plan.zarr_format,
        "shards": edges(plan.shards),
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
    if version is not None and version != version_of_format(plan.zarr_format):
        manifest["ome_zarr_version"] = version
    return manifest


def explain_mismatch(old: Manifest, new: Manifest, output: str, folder: str) -> str:
    """Why an existing output cannot be resumed with this input."""
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
    return (
        f"{output!r} already holds a conversion of other slices or with other "
        "options: choose another output, or pass --overwrite to replace it."
    )


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
