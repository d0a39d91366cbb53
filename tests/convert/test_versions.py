"""The OME-Zarr version a conversion writes: ``--ome-zarr-version`` and its
alias ``--zarr-format``, 0.6 images and labels, manifests and resuming."""

from __future__ import annotations

import json
from pathlib import Path

import ngff_zarr
import numpy as np
import pytest
import zarr
from ome_zarr_models import v06

from data_helpers.convert import convert_stack
from data_helpers.convert.output import Output
from data_helpers.convert.run import plan_for
from data_helpers.convert.sources import open_source
from data_helpers.convert.state import (
    FolderState,
    finished_from,
    manifest_hash,
    manifest_of,
)
from data_helpers.convert.target import ImageTarget
from data_helpers.ome import DEFAULT_OME_ZARR_VERSION, ZARR_FORMATS, image_version
from tests.convert.helpers import (
    assert_refused,
    levels_of,
    open_in_readers,
    run_main,
    write_slices,
)
from tests.ome_readers import label_problems


def version_of(path: Path) -> str:
    return image_version(zarr.open_group(path, mode="r"))


@pytest.mark.parametrize(
    ("args", "version", "zarr_format"),
    [
        ([], DEFAULT_OME_ZARR_VERSION, ZARR_FORMATS[DEFAULT_OME_ZARR_VERSION]),
        (["--zarr-format", "2"], "0.4", 2),
        (["--zarr-format", "3"], "0.5", 3),
        (["--ome-zarr-version", "0.4"], "0.4", 2),
        (["--ome-zarr-version", "0.5", "--zarr-format", "3"], "0.5", 3),
        (["--ome-zarr-version", "0.6"], "0.6", 3),
        (
            ["--ome-zarr-version", "0.6", "--zarr-format", "3", "--shards", "32"],
            "0.6",
            3,
        ),
    ],
)
def test_each_version_opens_in_its_readers(
    tmp_path, capsys, odd_stack, args, version, zarr_format
) -> None:
    out = tmp_path / "out.ome.zarr"
    code, _, err = run_main(capsys, odd_stack[0], out, "--chunks", "16", *args)
    assert code == 0, err
    assert version_of(out) == version
    assert zarr.open_group(out, mode="r").metadata.zarr_format == zarr_format
    open_in_readers(out)
    np.testing.assert_array_equal(levels_of(out)[0], odd_stack[1])


def test_the_default_is_0_5_in_shards_of_2_x_2_x_2_chunks(
    tmp_path, capsys, odd_stack
) -> None:
    """No version option: OME-Zarr 0.5 on Zarr format 3, every level in shards
    of 2 x 2 x 2 chunks; ``--shards 0``: the same without shards."""
    assert DEFAULT_OME_ZARR_VERSION == "0.5"
    for shards, expected in [([], (32, 32, 32)), (["--shards", "0"], None)]:
        out = tmp_path / f"out{len(shards)}.ome.zarr"
        code, _, err = run_main(capsys, odd_stack[0], out, "--chunks", "16", *shards)
        assert code == 0, err
        assert version_of(out) == "0.5"
        group = zarr.open_group(out, mode="r")
        assert group.metadata.zarr_format == 3
        levels = [group[name] for name in sorted(group.array_keys())]
        assert len(levels) > 1
        assert {(level.chunks, level.shards) for level in levels} == {
            ((16, 16, 16), expected)
        }
        np.testing.assert_array_equal(levels[0][:], odd_stack[1])


def test_a_0_6_conversion_is_valid_0_6(tmp_path, odd_stack) -> None:
    out = tmp_path / "out.ome.zarr"
    convert_stack(odd_stack[0], out, chunks=16, ome_zarr_version="0.6", progress=False)
    image = v06.Image.from_zarr(zarr.open_group(out, mode="r"))
    (multiscale,) = image.ome_attributes.multiscales
    assert [a.name for a in multiscale.intrinsic_coordinate_system.axes] == list("zyx")
    read = ngff_zarr.from_ngff_zarr(str(out), validate=True)
    assert [tuple(i.data.shape) for i in read.images] == [
        a.shape for a in levels_of(out)
    ]
    assert read.images[1].translation == {"z": 0.5, "y": 0.5, "x": 0.5}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--zarr-format", "2", "--ome-zarr-version", "0.5"],
            "--zarr-format 2 contradicts --ome-zarr-version 0.5 (OME-Zarr 0.5 is "
            "Zarr format 3): drop --zarr-format",
        ),
        (
            ["--zarr-format", "2", "--ome-zarr-version", "0.6"],
            "--zarr-format 2 contradicts --ome-zarr-version 0.6",
        ),
        (
            ["--zarr-format", "3", "--ome-zarr-version", "0.4"],
            "--zarr-format 3 contradicts --ome-zarr-version 0.4",
        ),
        (
            ["--ome-zarr-version", "0.4", "--shards", "32"],
            "--shards needs OME-Zarr 0.5 or 0.6 (--ome-zarr-version 0.5, or "
            "--zarr-format 3), not 0.4",
        ),
    ],
)
def test_contradictions_are_refused(tmp_path, capsys, odd_stack, args, fragment):
    out = tmp_path / "out.ome.zarr"
    assert_refused(capsys, out, [odd_stack[0], out, *args], fragment)


def manifest(slices: Path, out: Path, version=None, zarr_format=2) -> dict:
    """The manifest a conversion of ``slices`` into ``out`` records."""
    source = open_source(slices)
    target = ImageTarget(Output.of(out), None, (1.0, 1.0, 1.0), "micrometer", "0.4")
    plan = plan_for(source, target, 16, None, zarr_format)
    fingerprint = source.fingerprint()
    if version is None:  # as the converter did before it knew of versions
        return manifest_of(fingerprint, plan, (1.0, 1.0, 1.0), "micrometer")
    return manifest_of(fingerprint, plan, (1.0, 1.0, 1.0), "micrometer", version)


def test_manifests_of_0_4_and_0_5_are_as_before(tmp_path, odd_stack) -> None:
    """Outputs finished before versions were options keep their fingerprint:
    the manifest names the version only for 0.6, which the format cannot say."""
    out = tmp_path / "out.ome.zarr"
    for version, zarr_format in [("0.4", 2), ("0.5", 3)]:
        made = manifest(odd_stack[0], out, version, zarr_format)
        assert made == manifest(odd_stack[0], out, None, zarr_format)
        assert "ome_zarr_version" not in made
    made = manifest(odd_stack[0], out, "0.6", 3)
    assert made.pop("ome_zarr_version") == "0.6"
    assert made == manifest(odd_stack[0], out, None, 3)
    for version, zarr_format in [("0.4", 2), ("0.5", 3), ("0.6", 3)]:
        folder = tmp_path / version
        # unsharded, as manifest() plans it (0.5's default is sharded)
        options = dict(chunks=16, shards=0, ome_zarr_version=version)
        convert_stack(odd_stack[0], folder, progress=False, **options)
        expected = manifest(odd_stack[0], folder, version, zarr_format)
        assert finished_from(folder) == manifest_hash(expected)


@pytest.mark.parametrize(("first", "then"), [("0.5", "0.6"), ("0.6", "0.5")])
def test_resuming_tells_0_5_from_0_6(tmp_path, capsys, odd_stack, first, then):
    finished, stopped = tmp_path / "finished.ome.zarr", tmp_path / "stopped.ome.zarr"
    options = {"chunks": 16, "progress": False}
    convert_stack(odd_stack[0], finished, ome_zarr_version=first, **options)
    convert_stack(odd_stack[0], stopped, ome_zarr_version=first, max_tasks=1, **options)
    assert FolderState(stopped).manifest() is not None
    for out in (finished, stopped):
        assert_refused(
            capsys,
            out,
            [odd_stack[0], out, "--chunks", "16", "--ome-zarr-version", then],
            "of other slices or with other options",
            f"--ome-zarr-version {first} -> {then}",
            f"rerun with --ome-zarr-version {first}",
        )
    again = convert_stack(odd_stack[0], finished, ome_zarr_version=first, **options)
    assert again.nothing_to_do
    resumed = convert_stack(odd_stack[0], stopped, ome_zarr_version=first, **options)
    assert resumed.finished and resumed.tasks_skipped == 1
    assert version_of(stopped) == first


@pytest.fixture
def image_0_6(tmp_path, odd_stack) -> Path:
    out = tmp_path / "image.ome.zarr"
    convert_stack(odd_stack[0], out, chunks=16, ome_zarr_version="0.6", progress=False)
    return out


def test_labels_of_a_0_6_image(tmp_path, capsys, odd_stack, image_0_6) -> None:
    labels = (odd_stack[1] % 7).astype(np.uint8)
    write_slices(tmp_path / "labels", labels)
    code, _, err = run_main(
        capsys,
        tmp_path / "labels",
        image_0_6,
        "--labels",
        "cells",
        "--ome-zarr-version",
        "0.6",
        "--chunks",
        "16",
    )
    assert code == 0, err
    attributes = json.loads((image_0_6 / "labels" / "cells" / "zarr.json").read_text())
    assert attributes["attributes"]["ome"]["version"] == "0.6"
    v06.ImageLabel.from_zarr(zarr.open_group(image_0_6 / "labels" / "cells"))
    assert label_problems(image_0_6) == {}
    np.testing.assert_array_equal(
        zarr.open_group(image_0_6 / "labels" / "cells", mode="r")["0"][:], labels
    )


@pytest.mark.parametrize(
    "args", [["--zarr-format", "3"], ["--ome-zarr-version", "0.5"]]
)
def test_labels_must_have_the_image_version(
    tmp_path, capsys, odd_stack, image_0_6, args
) -> None:
    """A version asked for must be the image's; none asked for: the image's
    (``test_labels_of_a_0_6_image`` converts labels without the option)."""
    labels = (odd_stack[1] % 7).astype(np.uint8)
    write_slices(tmp_path / "labels", labels)
    given = "0.5"
    assert_refused(
        capsys,
        image_0_6,
        [tmp_path / "labels", image_0_6, "--labels", "cells", *args],
        f"is OME-Zarr 0.6, so its labels must be too: pass --ome-zarr-version 0.6 "
        f"(not {given}).",
    )
