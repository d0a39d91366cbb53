"""Runs inside a chapter's kernel: keeps every OME-Zarr image the chapter makes.

``tests/notebooks.py`` loads this file into the kernel before the chapter's
first cell and calls ``start``, and calls ``report`` after its last cell.
Chapters write into temporary folders and delete them at the end, so:

- ``start`` points ``tempfile`` at a folder of ours and wraps ``shutil.rmtree``
  (which ``TemporaryDirectory.cleanup`` uses), so that an OME-Zarr image in a
  folder being deleted is first moved aside, unchanged;
- ``report`` moves aside the images still on disk, copies to disk every image
  group held in memory by a global variable (directly or in a dict, list or
  tuple), and prints the list of kept images as JSON.

Only the standard library and public zarr API, so it works in any kernel.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

_state: dict[str, Any] = {}


def start(root: str) -> None:
    """Keep images under ``root``; temporary folders go to ``root/tmp``."""
    base = Path(root)
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    (base / "images").mkdir(parents=True, exist_ok=True)
    _state.update(
        root=base,
        tmp=base / "tmp",
        images=base / "images",
        found=[],
        start=time.time(),
        rmtree=shutil.rmtree,
    )
    tempfile.tempdir = str(base / "tmp")
    shutil.rmtree = _rmtree_keeping_images


def _multiscale_attributes(attributes: dict[str, Any]) -> bool:
    return bool(
        attributes.get("multiscales") or attributes.get("ome", {}).get("multiscales")
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def image_folders(top: Path) -> list[Path]:
    """Folders under ``top`` (itself included) holding an OME-Zarr image group."""
    found = []
    for folder, subfolders, files in os.walk(top):
        if ".zarray" in files:
            subfolders.clear()  # a format 2 array: only chunks below
            continue
        if ".zattrs" in files and _multiscale_attributes(
            _read_json(Path(folder, ".zattrs"))
        ):
            found.append(Path(folder))
        if "zarr.json" in files:
            metadata = _read_json(Path(folder, "zarr.json"))
            if metadata.get("node_type") == "array":
                subfolders.clear()  # a format 3 array: only chunks below
                continue
            if _multiscale_attributes(metadata.get("attributes", {})):
                found.append(Path(folder))
    return found


def _destination(name: str) -> Path:
    images: Path = _state["images"]
    return images / f"{len(_state['found']):02d}-{name}"


def _keep(folder: Path, *, move: bool) -> None:
    """Move (or copy) an image folder aside and note it."""
    destination = _destination(folder.name)
    if move:
        os.replace(folder, destination)
    else:
        shutil.copytree(folder, destination)
    _state["found"].append(
        {"source": "disk", "name": folder.name, "path": str(destination)}
    )


def _rmtree_keeping_images(path: Any, *args: Any, **kwargs: Any) -> None:
    top = Path(path)
    if top.is_dir() and not top.is_symlink():
        for folder in image_folders(top):
            if folder.exists():  # not inside an image moved already
                _keep(folder, move=True)
    if top.exists() or top.is_symlink():
        _state["rmtree"](path, *args, **kwargs)


def _copy_group(group: Any, destination: Path) -> None:
    """Copy every key of a zarr group's store below the group to a folder."""
    from zarr.core.buffer import default_buffer_prototype
    from zarr.storage import LocalStore

    prefix = f"{group.path}/" if group.path else ""

    async def copy() -> None:
        target = LocalStore(destination)
        async for key in group.store.list_prefix(prefix):
            value = await group.store.get(key, prototype=default_buffer_prototype())
            if value is not None:
                await target.set(key[len(prefix) :], value)

    # The kernel already runs an event loop; run ours in a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, copy()).result()


def _image_groups(value: Any) -> list[Any]:
    """The OME-Zarr image groups in a zarr group (itself and its subgroups)."""
    import zarr

    if not isinstance(value, zarr.Group):
        return []
    groups = [value] + [
        node
        for _, node in value.members(max_depth=None)
        if isinstance(node, zarr.Group)
    ]
    return [g for g in groups if _multiscale_attributes(g.attrs.asdict())]


def _in_memory_images(namespace: dict[str, Any]) -> None:
    from zarr.storage import LocalStore

    seen: set[tuple[int, str]] = set()
    for name, value in list(namespace.items()):
        if name.startswith("_"):
            continue
        values = [value]
        if isinstance(value, dict):
            values += list(value.values())
        elif isinstance(value, (list, tuple)):
            values += list(value)
        for item in values:
            for group in _image_groups(item):
                store = group.store
                if isinstance(store, LocalStore):
                    continue  # on disk: found there (or deleted and kept then)
                key = (id(store), group.path)
                if key in seen:
                    continue
                seen.add(key)
                destination = _destination(f"memory-{name}")
                _copy_group(group, destination)
                _state["found"].append(
                    {"source": "memory", "name": name, "path": str(destination)}
                )


def report(namespace: dict[str, Any]) -> None:
    """Keep the images left on disk and in memory; print the list as JSON."""
    for folder in image_folders(_state["tmp"]):
        if folder.exists():  # not inside an image moved already
            _keep(folder, move=True)
    # Images the chapter wrote next to itself (it should not, but check them).
    for folder in image_folders(Path.cwd()):
        metadata = [folder / ".zattrs", folder / "zarr.json"]
        if any(p.exists() and p.stat().st_mtime >= _state["start"] for p in metadata):
            _keep(folder, move=False)
    _in_memory_images(namespace)
    sys.stdout.write(json.dumps(_state["found"]))
