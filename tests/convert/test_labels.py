"""Tests for the converter's --labels: label slices to IMAGE/labels/NAME."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr

from data_helpers.convert import STATE_FOLDER, convert_stack, main
from data_helpers.ome import ZARR_FORMATS, image_version, multiscale_metadata
from data_helpers.pyramid import downsample_mode
from tests.convert.helpers import (
    chunk_files,
    cli,
    kill_once,
    random_volume,
    write_slices,
)
from tests.ome_readers import label_names, label_problems, reader_problems

SHAPE = (33, 47, 65)  # odd on purpose
VOXEL = (2.0, 3.0, 4.0)


def blob_labels(shape, seed: int = 0, dtype="uint32") -> np.ndarray:
    """Blocks of 4 labels with a one-voxel-thin plane of label 9 through them."""
    rng = np.random.default_rng(seed)
    grid = [n // 4 + 1 for n in shape]
    labels = rng.integers(0, 4, grid).repeat(4, 0).repeat(4, 1).repeat(4, 2)
    labels = labels[: shape[0], : shape[1], : shape[2]].astype(dtype)
    labels[:, 21, :] = 9
    return labels


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    root = tmp_path_factory.mktemp("label-stacks")
    write_slices(root / "image", random_volume(SHAPE, seed=2), rowsperstrip=4)
    labels = blob_labels(SHAPE)
    write_slices(root / "labels", labels, rowsperstrip=4)
    return root / "image", root / "labels", labels


def image_at(path: Path, stacks, **options) -> Path:
    convert_stack(
        stacks[0], path, chunks=16, voxel_size=VOXEL, progress=False, **options
    )
    return path


def files_under(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    "options",
    [{"ome_zarr_version": "0.4"}, {"zarr_format": 3, "shards": 32}],
    ids=["0.4", "0.5-sharded"],
)
def test_label_image_has_the_image_levels_and_mode_pyramid(
    tmp_path, stacks, options
) -> None:
    image = image_at(tmp_path / "image.ome.zarr", stacks, **options)
    result = convert_stack(
        stacks[1],
        image,
        chunks=16,
        labels="cells",
        label_colors={9: (255, 0, 0, 255)},
        progress=False,
        **options,
    )
    assert result.finished
    # Voxels of 2 x 3 x 4: x (4, not less than twice 2) keeps its length at
    # level 1, which makes 4 x 6 x 4 voxels, then all halve; 16-voxel chunks.
    factors = [(2, 2, 1), (2, 2, 2), (2, 2, 2), (2, 2, 2)]
    assert result.summary().startswith(
        "image.ome.zarr/labels/cells: converted; 5 levels (33, 47, 65), "
        "(17, 24, 65), (9, 12, 33), (5, 6, 17), (3, 3, 9) uint32"
    )
    group = zarr.open_group(image, mode="r")
    label = group["labels/cells"]
    image_meta, label_meta = multiscale_metadata(group), multiscale_metadata(label)
    assert label_meta["datasets"] == image_meta["datasets"]
    assert label_meta["axes"] == image_meta["axes"]
    expected = [stacks[2]]
    for step in factors:
        expected.append(downsample_mode(expected[-1], step))
    for k, dataset in enumerate(label_meta["datasets"]):
        level = label[dataset["path"]]
        assert level.shape == group[dataset["path"]].shape
        assert level.shards == group[dataset["path"]].shards
        assert level.dtype == np.uint32
        np.testing.assert_array_equal(level[:], expected[k])
    attributes = label.attrs.asdict()
    image_label = attributes.get("ome", attributes)["image-label"]
    assert image_label["source"] == {"image": "../../"}
    assert image_label["colors"] == [{"label-value": 9, "rgba": [255, 0, 0, 255]}]
    assert label_names(image) == ["cells"]
    assert label_problems(image) == {}
    assert reader_problems(image) == {}
    assert not (image / "labels" / "cells" / STATE_FOLDER).exists()


@pytest.mark.parametrize(
    ("version", "shards"),
    [("0.4", None), ("0.5", (32, 32, 32))],  # 0.5's default: 2 x 2 x 2 chunks
)
def test_labels_without_a_version_take_the_image_version(
    tmp_path, stacks, version, shards
) -> None:
    """No version option: the labels are of the image's OME-Zarr version (not
    the default), sharded by 0.5's default policy."""
    image = image_at(tmp_path / "image.ome.zarr", stacks, ome_zarr_version=version)
    convert_stack(stacks[1], image, chunks=16, labels="cells", progress=False)
    label = zarr.open_group(image / "labels" / "cells", mode="r")
    assert image_version(label) == version
    assert label.metadata.zarr_format == ZARR_FORMATS[version]
    for name in label.array_keys():
        assert label[name].chunks == (16, 16, 16)
        assert label[name].shards == shards
    assert label_problems(image) == {}


def test_parallel_equals_serial_and_second_label_keeps_the_first(
    tmp_path, stacks
) -> None:
    image = image_at(tmp_path / "image.ome.zarr", stacks)
    convert_stack(stacks[1], image, chunks=16, labels="a", progress=False)
    convert_stack(stacks[1], image, chunks=16, labels="b", workers=2, progress=False)
    assert label_names(image) == ["a", "b"]
    a, b = (files_under(image / "labels" / name) for name in "ab")
    assert a.keys() == b.keys()
    # the default, OME-Zarr 0.5: the label group's metadata is its zarr.json
    assert {k: v for k, v in a.items() if k != "zarr.json"} == {
        k: v for k, v in b.items() if k != "zarr.json"
    }  # the same chunks (the metadata differ by name)
    assert label_problems(image) == {}


def test_resume_after_sigkill_gives_identical_labels(tmp_path, stacks) -> None:
    (tmp_path / "reference").mkdir()
    reference = image_at(tmp_path / "reference" / "image.ome.zarr", stacks)
    convert_stack(stacks[1], reference, chunks=8, labels="cells", progress=False)
    image = image_at(tmp_path / "image.ome.zarr", stacks)
    before = chunk_files(image)
    done = image / "labels" / "cells" / STATE_FOLDER / "done"
    process = cli(
        str(stacks[1]),
        str(image),
        "--labels",
        "cells",
        "--chunks",
        "8",
        slow=True,
    )
    kill_once(process, lambda: len(list(done.iterdir())) if done.is_dir() else 0, 2)
    # Killed: no label metadata, not listed, and the image still opens cleanly.
    assert "image-label" not in zarr.open_group(image / "labels" / "cells").attrs
    assert label_names(image) == []
    assert reader_problems(image) == {}
    assert {k: v for k, v in chunk_files(image).items() if "labels" not in k} == before
    finished_before = len(list(done.iterdir()))
    result = convert_stack(stacks[1], image, chunks=8, labels="cells", progress=False)
    assert result.finished and result.tasks_skipped == finished_before
    assert chunk_files(image / "labels") == chunk_files(reference / "labels")
    assert label_problems(image) == {}


# --------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing written under labels/ (nor elsewhere)
# --------------------------------------------------------------------------


def refused(capsys, image: Path, *args: str | Path) -> str:
    before = files_under(image) if image.is_dir() else None
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err and captured.out == ""
    after = files_under(image) if image.is_dir() else None
    assert after == before, "something was written"
    return captured.err


@pytest.fixture(scope="module")
def image(stacks, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bad-labels") / "image.ome.zarr"
    image_at(path, stacks)
    convert_stack(stacks[1], path, chunks=16, labels="cells", progress=False)
    return path


def test_label_slices_of_another_shape(tmp_path, capsys, image) -> None:
    write_slices(tmp_path / "small", blob_labels((33, 47, 64)))
    err = refused(capsys, image, tmp_path / "small", image, "--labels", "new")
    assert "make a (33, 47, 64) volume, but the image's level 0 is (33, 47, 65)" in err
    write_slices(tmp_path / "few", blob_labels((32, 47, 65)))
    err = refused(capsys, image, tmp_path / "few", image, "--labels", "new")
    assert "(32, 47, 65) volume" in err
    assert not (image / "labels" / "new").exists()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_label_slices(tmp_path, capsys, image, dtype) -> None:
    write_slices(tmp_path / "float", blob_labels(SHAPE, dtype=dtype))
    err = refused(capsys, image, tmp_path / "float", image, "--labels", "new")
    assert f"are {dtype}: labels must be integers" in err


def test_image_that_is_not_an_ome_zarr_image(tmp_path, capsys, stacks) -> None:
    plain = tmp_path / "plain.zarr"
    zarr.open_group(plain, mode="w")
    for target in (plain, tmp_path / "missing.ome.zarr", stacks[0]):
        err = refused(capsys, target, stacks[1], target, "--labels", "cells")
        assert "is not an OME-Zarr image (no multiscales metadata)" in err
    assert not (plain / "labels").exists()
    assert not (tmp_path / "missing.ome.zarr").exists()


def test_label_name_already_there(tmp_path, capsys, stacks, image) -> None:
    # Another label image named "cells": the same name from other slices.
    other = tmp_path / "other"
    write_slices(other, blob_labels(SHAPE, seed=4))
    err = refused(capsys, image, other, image, "--labels", "cells", "--chunks", "16")
    assert "already has a label image 'cells'" in err and "--overwrite" in err
    # The same conversion again is no error: it is finished, nothing to do.
    again = convert_stack(stacks[1], image, chunks=16, labels="cells", progress=False)
    assert again.nothing_to_do


def test_overwrite_replaces_a_label_image(tmp_path, stacks) -> None:
    image = image_at(tmp_path / "image.ome.zarr", stacks)
    convert_stack(stacks[1], image, chunks=16, labels="cells", progress=False)
    convert_stack(stacks[1], image, chunks=16, labels="keep", progress=False)
    other = tmp_path / "other"
    new_labels = blob_labels(SHAPE, seed=4)
    write_slices(other, new_labels)
    convert_stack(
        other, image, chunks=16, labels="cells", overwrite=True, progress=False
    )
    np.testing.assert_array_equal(
        zarr.open_group(image / "labels" / "cells")["0"][:], new_labels
    )
    assert sorted(label_names(image)) == ["cells", "keep"]
    assert label_problems(image) == {}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (  # the image is of the default, OME-Zarr 0.5
            ["--zarr-format", "2"],
            "is OME-Zarr 0.5, so its labels must be too: pass --ome-zarr-version 0.5",
        ),
        (["--levels", "2"], "--levels 2, but"),
        (["--labels", "a/b"], "is not a plain name"),
        (["--color", "1", "300", "0", "0", "255"], "must be 0 to 255"),
        (["--name", "one", "heart"], "VALUE must be a whole number"),
        (
            ["--color", "1", "9", "9", "9", "255", "--name", "2", "heart"],
            "--color is given for label values [1] but --name for [2]",
        ),
    ],
)
def test_other_bad_label_options(capsys, stacks, image, args, fragment) -> None:
    base = ["--labels", "new"] if "--labels" not in args else []
    err = refused(capsys, image, stacks[1], image, *base, *args)
    assert fragment in err


def test_command_line_exit_2_without_traceback(stacks, image) -> None:
    process = cli(str(stacks[0]), str(image), "--labels", "new")  # uint16: fine
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "image.ome.zarr/labels/new: converted" in out
    bad = cli(str(stacks[1]), str(image / "labels"), "--labels", "x")
    out, err = bad.communicate(timeout=120)
    assert bad.returncode == 2 and "Traceback" not in err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_names_go_into_properties_from_python_and_the_command_line(
    tmp_path, capsys, stacks
) -> None:
    """``label_names`` / ``--name VALUE NAME``: each name a ``properties``
    entry of ``image-label``, beside the colours of the same values."""
    expected = [
        {"label-value": 1, "name": "jar wall"},
        {"label-value": 2, "name": "heart"},
    ]
    image = image_at(tmp_path / "python.ome.zarr", stacks)
    convert_stack(
        stacks[1],
        image,
        labels="organs",
        chunks=16,
        label_colors={1: (0, 0, 255, 255), 2: (255, 0, 0, 255)},
        label_names={2: "heart", 1: "jar wall"},
        progress=False,
    )
    group = zarr.open_group(image / "labels" / "organs", mode="r")
    # the default, OME-Zarr 0.5, keeps its metadata under "ome"
    assert group.attrs["ome"]["image-label"]["properties"] == expected
    assert not label_problems(image)
    shell = image_at(tmp_path / "shell.ome.zarr", stacks)
    args = [stacks[1], shell, "--labels", "organs", "--chunks", "16"]
    code = main(
        [str(a) for a in [*args, "--name", "1", "jar wall", "--name", "2", "heart"]]
    )
    assert code == 0, capsys.readouterr().err
    group = zarr.open_group(shell / "labels" / "organs", mode="r")
    assert group.attrs["ome"]["image-label"]["properties"] == expected


def test_colours_or_names_without_labels_are_refused(tmp_path, capsys, stacks) -> None:
    out = tmp_path / "image.ome.zarr"
    err = refused(capsys, out, stacks[0], out, "--name", "1", "heart")
    assert "they go with --labels NAME" in err
    assert not out.exists()
