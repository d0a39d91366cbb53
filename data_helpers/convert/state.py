"""The output's state: manifest, resume check, done markers, arrays, metadata last."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import zarr
from zarr.abc.store import Store

from data_helpers.codec_names import DEFAULT_CODEC, make_codec
from data_helpers.convert.errors import ConversionError
from data_helpers.convert.plan import Plan
from data_helpers.convert.slices import Slice
from data_helpers.files import folder_bytes
from data_helpers.ome import array_spec_class, image_attributes, image_model
from data_helpers.remote import is_remote, open_store, s3_filesystem

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
    slices: list[Slice], plan: Plan, voxel_size: Sequence[float], unit: str
) -> Manifest:
    """What a conversion was made from: files, sizes, times, shape and options."""
    manifest: Manifest = {
        "version": MANIFEST_VERSION,
        "slices": [[Path(s.path).name, s.size, s.mtime_ns] for s in slices],
        "shape": list(plan.shape),
        "dtype": plan.dtype,
        "chunks": plan.chunks,
        "levels": plan.levels,
        "zarr_format": plan.zarr_format,
        "shards": plan.shards,
        # which voxels each task name stands for: a resume must agree
        "block": list(plan.block_shape()),
        "voxel_size": [float(v) for v in voxel_size],
        "unit": unit,
    }
    if plan.labels:
        manifest["labels"] = True
    return manifest


def explain_mismatch(old: Manifest, new: Manifest, output: Path, folder: Path) -> str:
    """Why an existing output cannot be resumed with this input."""
    old_files = {name: (size, t) for name, size, t in old.get("slices", [])}
    new_files = {name: (size, t) for name, size, t in new["slices"]}
    same_options = all(
        old.get(k) == new[k] for k in new if k not in ("slices", "shape")
    )
    if same_options and old_files.keys() >= new_files.keys():
        for name in old_files:
            if name not in new_files:
                return (
                    f"Slice {str(folder / name)!r} is missing, but the conversion into "
                    f"{str(output)!r} started with it: put it back, or pass "
                    "--overwrite to start again."
                )
    if same_options and old_files.keys() == new_files.keys():
        for name, value in new_files.items():
            if old_files[name] != value:
                return (
                    f"Slice {str(folder / name)!r} changed (size or modification time) "
                    f"since the conversion into {str(output)!r} started: pass "
                    "--overwrite to start again from the current slices."
                )
    return (
        f"{str(output)!r} already holds a conversion of other slices or with other "
        "options: choose another output, or pass --overwrite to replace it."
    )


def manifest_hash(manifest: Manifest) -> str:
    """A short fingerprint of a manifest, kept in a finished output's attributes."""
    text = json.dumps(manifest, sort_keys=True).encode()
    return hashlib.sha256(text).hexdigest()


def finished_from(output: Path | Store) -> str | None:
    """The manifest fingerprint a finished output records, if any."""
    try:
        attributes: dict[str, Any] = zarr.open_group(output, mode="r").attrs.asdict()
    except (zarr.errors.BaseZarrError, FileNotFoundError):  # no group (yet)
        return None
    fingerprint: dict[str, str] = attributes.get(FINGERPRINT_KEY, {})
    return fingerprint.get("manifest_sha256")


def removable(output: Path) -> bool:
    """Whether ``--overwrite`` may delete ``output`` (only Zarr data or nothing)."""
    names = {p.name for p in output.iterdir()}
    return not names or bool(names & {".zgroup", ".zarray", "zarr.json", STATE_FOLDER})


def prepare_output(
    output: Path, manifest: Manifest, folder: Path, overwrite: bool
) -> ResumeState:
    """Check ``output``; return ``"new"``, ``"resume"`` or ``"finished"``.

    Raises ConversionError, having written nothing, when the output cannot be
    used. Deletes an old output only when ``overwrite`` is set.
    """
    if output.exists() and not output.is_dir():
        raise ConversionError(
            f"The output {str(output)!r} exists and is a file: choose a folder name "
            "such as image.ome.zarr."
        )
    if output.is_dir():
        if not os.access(output, os.W_OK):
            raise ConversionError(
                f"The output {str(output)!r} cannot be written: check its permissions."
            )
        old = FolderState(output).manifest()
        made_from = finished_from(output)
        if made_from == manifest_hash(manifest) and not overwrite:
            return "finished"
        if old == manifest and not overwrite:
            return "resume"
        if overwrite:
            if not removable(output):
                raise ConversionError(
                    f"Refusing to delete {str(output)!r} for --overwrite: it holds "
                    "files that are not Zarr data. Choose another output."
                )
            shutil.rmtree(output)
        elif old is not None:
            raise ConversionError(explain_mismatch(old, manifest, output, folder))
        elif made_from is not None:
            raise ConversionError(explain_mismatch({}, manifest, output, folder))
        elif any(output.iterdir()):
            raise ConversionError(
                f"The output {str(output)!r} exists and is not a conversion of these "
                "slices: choose another output, or pass --overwrite to replace it."
            )
    parent = output.absolute().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ConversionError(
            f"The output {str(output)!r} cannot be written: its folder {str(parent)!r} "
            "does not exist or is not writable."
        )
    return "new"


Output = Path | str  # a folder, or an s3:// URL (a str, never made a Path)


def output_store(output: Output, mode: str = "r+") -> Any:
    """What zarr opens for ``output``: the folder itself, or a store for a URL."""
    if isinstance(output, str) and is_remote(output):
        return open_store(output, "r" if mode == "r" else "w")
    return output


def output_child(output: Output, name: str) -> Output:
    """``output/name``, for a folder or a URL."""
    if isinstance(output, str) and is_remote(output):
        return f"{output.rstrip('/')}/{name}"
    return Path(output, name)


def output_name(output: Output) -> str:
    """The last part of the folder or URL: ``image.ome.zarr``."""
    if isinstance(output, str) and is_remote(output):
        return PurePosixPath(urlsplit(output).path).name
    return Path(output).name


def output_bytes(output: Output) -> int:
    """Bytes in all files (objects) under ``output``, a folder or an s3:// URL."""
    if isinstance(output, str) and is_remote(output):
        fs = s3_filesystem()
        fs.invalidate_cache()
        parts = urlsplit(output)
        return int(fs.du(f"{parts.netloc}/{parts.path.strip('/')}"))
    return folder_bytes(output)


def create_arrays(output: Output, plan: Plan) -> list[zarr.Array]:
    """Create the group and its empty level arrays (or open them on resume)."""
    group = zarr.open_group(
        output_store(output), mode="a", zarr_format=plan.zarr_format
    )
    arrays = []
    for level, shape in enumerate(plan.level_shapes()):
        existing = group.get(str(level))
        if isinstance(existing, zarr.Array):  # on resume
            arrays.append(existing)
            continue
        options: dict[str, Any] = {
            "chunk_key_encoding": {"name": "v2", "separator": "/"}
        }
        if plan.zarr_format == 3:
            options = {
                "dimension_names": ("z", "y", "x"),
                "shards": plan.shards and (plan.shards,) * 3,
            }
        arrays.append(
            group.create_array(
                str(level),
                shape=shape,
                dtype=plan.dtype,
                chunks=(plan.chunks,) * 3,
                compressors=make_codec(DEFAULT_CODEC, plan.zarr_format),
                fill_value=0,
                **options,
            )
        )
    return arrays


def remove_partial_writes(output: Path) -> None:
    """Delete what a kill left of zarr's chunk writes (``NAME.<id>.partial``).

    zarr-python's local store writes a chunk to a ``.partial`` file, then
    renames it: a kill can leave these behind.
    """
    for leftover in output.rglob("*.partial"):
        leftover.unlink()


def write_metadata(
    output: Output,
    arrays: list[zarr.Array],
    voxel_size: Sequence[float],
    unit: str,
    fingerprint: str,
) -> None:
    """Write the OME-Zarr multiscales metadata: the last step of a conversion.

    Beside it goes the fingerprint of the input and options, so that a rerun
    of the same conversion knows there is nothing left to do.
    """
    spec_class = array_spec_class(arrays[0].metadata.zarr_format)
    specs = [spec_class.from_zarr(a) for a in arrays]
    name = output_name(output).removesuffix(".zarr").removesuffix(".ome")
    image = image_model(specs, voxel_size=voxel_size, unit=unit, name=name)
    attributes = image_attributes(image)
    attributes[FINGERPRINT_KEY] = {"manifest_sha256": fingerprint}
    zarr.open_group(output_store(output), mode="r+").attrs.update(attributes)
