"""``--help`` of convert, check and view: defaults, input, order, units, resuming."""

from __future__ import annotations

import argparse

import pytest

from data_helpers.check.cli import parser as check_parser
from data_helpers.convert.cli import parser as convert_parser
from data_helpers.convert.run import usable_cores
from data_helpers.ome import DEFAULT_OME_ZARR_VERSION, SPACE_UNITS
from data_helpers.view import parse_args as view_parse_args


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch) -> None:
    """argparse wraps help to the terminal (and breaks words at hyphens)."""
    monkeypatch.setenv("COLUMNS", "1000")


def flat(text: str) -> str:
    """The text with every run of whitespace one space (the epilogs are wrapped)."""
    return " ".join(text.split())


def assert_every_option_has_help_with_its_default(parser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{action.dest} has no help"
        if action.option_strings:
            assert "(default: " in action.help or "; default: " in action.help, (
                action.option_strings
            )


def test_convert_help() -> None:
    parser = convert_parser()
    assert_every_option_has_help_with_its_default(parser)
    text = flat(parser.format_help())
    for fragment in [
        # defaults
        "--chunks CHUNKS chunk length in voxels along Z, Y and X; 1 along T and C "
        "(default: 128)",
        "(default: as many as it takes for the smallest level to fit in one chunk)",
        "--workers WORKERS tasks run at once, on threads of this process (default: "
        f"the cores it may use, {usable_cores()} here)",
        "(default: the input's metadata, such as an OME-TIFF's physical sizes, "
        "else 1 1 1)",
        "default: micrometer, or the input's)",
        "--codec CODEC the chunks' compression",
        "(default: blosc-zstd-3-shuffle)",
        "--dataset PATH with an HDF5 file: the path of the array in it",
        "3 writes OME-Zarr 0.5 (default: that of --ome-zarr-version)",
        "--ome-zarr-version {0.4,0.5,0.6} OME-Zarr version to write: 0.4 in Zarr "
        "format 2, 0.5 in Zarr format 3, 0.6 in Zarr format 3 (default: "
        f"{DEFAULT_OME_ZARR_VERSION}, or the one --zarr-format says; with --labels, "
        "the image's)",
        "0 for no shards; needs OME-Zarr 0.5 or 0.6 (default: 2 x --chunks with "
        "0.5 and 0.6, none with 0.4)",
        "--scheduler ADDRESS run the tasks on the dask cluster whose scheduler is "
        "at ADDRESS (such as tcp://10.0.0.5:8786, as dask scheduler prints), not on "
        "threads of this process; --workers is then not used (default: none)",
        # input, order, resuming
        "a folder of 2-D slices, one per z plane, all the same shape (rows x "
        "columns) and dtype",
        "TIFF files (*.tif, *.tiff) or JPEG 2000 files (*.jp2, *.jpx, *.j2k, "
        "*.j2c), not both",
        "natural order of their names (slice_2 before slice_10, not after slice_1)",
        "one TIFF file (multi-page, BigTIFF or OME-TIFF",
        "an HDF5 file (--dataset PATH names the array in it",
        "Several INPUTs are the channels of one image, in order",
        "the input's axes in T C Z Y X order",
        "halving each of them whose voxel size is less than twice the smallest",
        "run the same command again to resume where it stopped",
        "On a finished output the same command does nothing and leaves it alone",
        # units
        "um, \u00b5m or micron as micrometer, nm as nanometer",
        "Symbols are case-sensitive",
    ]:
        assert fragment in text, fragment
    assert all(f" {name}," in text or f" {name}." in text for name in SPACE_UNITS)


def test_check_help() -> None:
    parser = check_parser()
    assert_every_option_has_help_with_its_default(parser)
    text = flat(parser.format_help())
    for fragment in [
        "--deep read every chunk too (default: off, metadata and array headers only)",
        "--json print one JSON object (default: off, lines of text)",
        "--workers WORKERS threads that read chunks with --deep (default: one per "
        "CPU core)",
        "a path, an http(s):// URL",
        "the units of the axes (the specification's names, such as micrometer: "
        "Neuroglancer refuses um)",
        "exit status: 0 no problems, 1 problems, 2 it could not check at all",
    ]:
        assert fragment in text, fragment


def test_view_help(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        view_parse_args(["--help"])
    assert stopped.value.code == 0
    text = flat(capsys.readouterr().out)
    for fragment in [
        "--port PORT port to listen on, 0 to 65535 (default: 0, any free port)",
        "--host HOST address to listen on (default: 127.0.0.1, this machine only;",
        "only build the viewer (once, with the network), then exit",
        "To publish an image for colleagues",
        "--no-browser only print the viewer's URL (default: off, open it in a browser)",
        "in the order of its axes (Z Y X for the book's images)",
        "run python -m data_helpers.check IMAGE first",
        "exit status: 0 stopped with Ctrl-C, 2 bad input",
    ]:
        assert fragment in text, fragment
