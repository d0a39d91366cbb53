"""The one resume decision: start an output, finish an interrupted one, or nothing."""

from __future__ import annotations

from data_helpers.convert.errors import ConversionError
from data_helpers.convert.output import Output, written_by_conversion
from data_helpers.convert.state import (
    Manifest,
    ResumeState,
    explain_mismatch,
    finished_from,
    manifest_hash,
    recorded_options,
)


def prepare(
    output: Output, manifest: Manifest, source: str, overwrite: bool
) -> ResumeState:
    """Check ``output``; return ``"new"``, ``"resume"`` or ``"finished"``.

    The same for a folder and an object store. Raises ConversionError, having
    written nothing, when the output cannot be used (``source`` names the
    input in messages). With ``overwrite``, deletes what a conversion wrote
    there (Zarr metadata, arrays, its state) and refuses when the output holds
    anything else.
    """
    output.check()
    names = output.names()
    if not names:
        return "new"
    state = output.state()
    made_from = finished_from(output.store("r"))
    old = state.manifest()
    if not overwrite and made_from == manifest_hash(manifest):
        return "finished"
    if not overwrite and old == manifest:
        return "resume"
    foreign = sorted(name for name in names if not written_by_conversion(name))
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        if overwrite:
            raise ConversionError(
                f"Refusing to delete {output.location!r} for --overwrite: it holds "
                f"{shown}: not Zarr data a conversion wrote; move it away, or "
                "choose another output."
            )
        raise ConversionError(
            f"The output {output.location!r} exists and is not a conversion of these "
            f"slices: it holds {shown}, not Zarr data; choose another "
            "output (--overwrite deletes only what a conversion wrote)."
        )
    if overwrite:
        output.remove(names)
        return "new"
    if old is not None or made_from is not None:
        # a finished conversion keeps no manifest: its metadata tells
        recorded = old if old is not None else recorded_options(output.store("r"))
        raise ConversionError(
            explain_mismatch(
                recorded, manifest, output.location, source, finished=old is None
            )
        )
    raise ConversionError(
        f"The output {output.location!r} exists and is not a conversion of these "
        "slices: choose another output, or pass --overwrite to replace it."
    )
