"""Units of space axes: the specification's names, the converter's --unit, check.

Neuroglancer refuses a unit outside the OME-Zarr list ("Unsupported unit") and
draws nothing, so the converter writes only the list's names and ``check``
reports any other unit as a problem.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from data_helpers.check import main as check_main
from data_helpers.convert import convert_stack
from data_helpers.convert import main as convert_main
from data_helpers.ome import SPACE_UNITS, UNIT_SYMBOLS, space_unit


def test_space_units_are_the_lists_of_ome_zarr_py_and_ngff_zarr() -> None:
    """ome-zarr-models accepts any string, so compare with two readers' lists."""
    from ngff_zarr.v04.zarr_metadata import space_units
    from ome_zarr.axes import KNOWN_SPATIAL_UNITS

    assert sorted(SPACE_UNITS) == sorted(KNOWN_SPATIAL_UNITS) == sorted(space_units)
    assert len(set(SPACE_UNITS)) == 26


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("micrometer", "micrometer"),
        ("um", "micrometer"),
        ("\u00b5m", "micrometer"),  # MICRO SIGN
        ("\u03bcm", "micrometer"),  # GREEK SMALL LETTER MU
        ("micron", "micrometer"),
        ("microns", "micrometer"),
        ("Micrometres", "micrometer"),
        (" nm ", "nanometer"),
        ("mm", "millimeter"),
        ("Mm", "megameter"),
        ("pm", "picometer"),
        ("Pm", "petameter"),
        ("m", "meter"),
        ("km", "kilometer"),
        ("\u00c5", "angstrom"),  # LATIN CAPITAL LETTER A WITH RING ABOVE
        ("\u212b", "angstrom"),  # ANGSTROM SIGN
        ("in", "inch"),
        ("ft", "foot"),
        ("feet", "foot"),
    ],
)
def test_space_unit_maps_names_and_symbols(given: str, name: str) -> None:
    assert space_unit(given) == name


@pytest.mark.parametrize("given", ["furlong", "A", "MM", "NM", "UM", "", "pixel"])
def test_space_unit_refuses_others_with_the_list(given: str) -> None:
    """``A`` is the ampere; symbols are case-sensitive (``MM`` is no unit)."""
    with pytest.raises(ValueError) as error:
        space_unit(given)
    message = str(error.value)
    assert message.startswith(f"{given!r} is not a unit OME-Zarr knows: use one of")
    assert all(name in message for name in SPACE_UNITS)


def test_every_symbol_gives_a_name_of_the_list() -> None:
    assert set(UNIT_SYMBOLS.values()) <= set(SPACE_UNITS)
    assert all(space_unit(name) == name for name in SPACE_UNITS)


# --------------------------------------------------------------------------
# The converter's --unit
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slices(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("units") / "slices"
    folder.mkdir()
    volume = np.arange(8 * 8 * 8, dtype="uint16").reshape(8, 8, 8)
    for z, plane in enumerate(volume):
        tifffile.imwrite(folder / f"slice_{z}.tif", plane)
    return folder


def axes_of(image: Path) -> list[dict]:
    """The axes of an OME-Zarr 0.4 (.zattrs) or 0.5 (zarr.json) image."""
    if (image / "zarr.json").exists():
        attributes = json.loads((image / "zarr.json").read_text())["attributes"]
        return attributes["ome"]["multiscales"][0]["axes"]
    return json.loads((image / ".zattrs").read_text())["multiscales"][0]["axes"]


@pytest.mark.parametrize(("given", "name"), [("um", "micrometer"), ("nm", "nanometer")])
def test_convert_unit_symbol_writes_the_name(slices, tmp_path, given, name) -> None:
    out = tmp_path / "image.ome.zarr"
    assert convert_main([str(slices), str(out), "--chunks", "8", "--unit", given]) == 0
    assert [axis["unit"] for axis in axes_of(out)] == [name] * 3


def test_convert_refuses_an_unknown_unit_with_one_line(slices, tmp_path, capsys):
    out = tmp_path / "image.ome.zarr"
    assert convert_main([str(slices), str(out), "--unit", "furlong"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(
        "error: --unit 'furlong' is not a unit OME-Zarr knows: use one of angstrom, "
    )
    assert "micrometer" in captured.err and "(or um, " in captured.err
    assert not out.exists()


# --------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------


def set_unit(image: Path, unit: object) -> None:
    """Give every axis of the image ``unit``, as another program might have."""
    path = image / "zarr.json" if (image / "zarr.json").exists() else image / ".zattrs"
    metadata = json.loads(path.read_text())
    attributes = metadata.get("attributes", metadata)
    for axis in attributes.get("ome", attributes)["multiscales"][0]["axes"]:
        axis["unit"] = unit
    path.write_text(json.dumps(metadata))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_check_reports_a_unit_outside_the_list(slices, tmp_path, capsys, zarr_format):
    image = tmp_path / "image.ome.zarr"
    convert_stack(slices, image, chunks=8, zarr_format=zarr_format, progress=False)
    assert check_main([str(image)]) == 0
    capsys.readouterr()
    set_unit(image, "um")
    assert check_main([str(image)]) == 1
    problems = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("PROBLEM")
    ]
    assert problems == [
        "PROBLEM axes z, y, x: unit 'um' is not one of the OME-Zarr specification's "
        "space units: Neuroglancer refuses it ('Unsupported unit') and draws "
        "nothing, and other readers may ignore it or misread the voxel size; write "
        "'micrometer' instead."
    ]


def test_check_lists_the_units_for_one_it_cannot_map(slices, tmp_path, capsys):
    image = tmp_path / "image.ome.zarr"
    convert_stack(slices, image, chunks=8, progress=False)
    set_unit(image, "furlong")
    assert check_main([str(image), "--json"]) == 1
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert problem["where"] == "axes z, y, x"
    assert problem["message"].startswith("unit 'furlong' is not one of")
    assert problem["message"].endswith(f"write one of {', '.join(SPACE_UNITS)}.")
