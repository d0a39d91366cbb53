"""Convert an image (slices, a TIFF file, HDF5, Zarr) into a multiscale OME-Zarr image.

Works for stacks far larger than memory, in parallel on dask, and resumes
after an interruption. Use it from Python (``convert_stack``) or the shell::

    python -m data_helpers.convert INPUT [INPUT...] OUTPUT.ome.zarr [--chunks N]
        [--levels N] [--workers N] [--voxel-size Z Y X] [--unit micrometer]
        [--overwrite] [--ome-zarr-version {0.4,0.5,0.6}] [--shards N]
        [--dataset PATH] [--codec NAME] [--scheduler ADDRESS]
    python -m data_helpers.convert LABEL_SLICES IMAGE.ome.zarr --labels NAME
        [--color VALUE R G B A]... [--name VALUE NAME]... [--chunks N] [--workers N]
    python -m data_helpers.convert OLD.ome.zarr NEW.ome.zarr
        [--ome-zarr-version {0.4,0.5,0.6}] [--shards N] [--chunks N] [--workers N]
        [--overwrite]

The last migrates an existing OME-Zarr image (``migrate``, ``migrate_image``).

The modules, in the order of the chapter "Converting an enormous scan":

- ``sources``: what is read, behind one interface (``Source``: axes, shape,
  dtype, ``read(region, out)``, ``fingerprint()``), one module per input
  kind chosen by ``open_source``: ``sources.slices`` a folder of 2-D TIFF or
  JPEG 2000 slices; ``sources.tiff_file`` one multi-page, BigTIFF or OME-TIFF
  file; ``sources.hdf5`` an HDF5 dataset (``--dataset``);
  ``sources.jpeg2k`` JPEG 2000 headers and decoding;
  ``sources.staged`` planes decoded once, read by rows; ``sources.ome_zarr``
  an existing OME-Zarr image, its levels and label images (``OmeZarrImage``);
  ``sources.zarr_array`` a plain Zarr array of 3 to 5 dimensions;
  ``sources.channels`` several inputs as the channels of one
  (``stack_channels``, ``open_sources``);
- ``plan``: level shapes and the tasks (``Plan``, ``Task``, ``TaskKind``),
  each owning whole chunks or shards, per axis, and the memory a task holds
  (``Plan.task_bytes``, ``Plan.work_bytes``);
- ``tasks``: the work of one task (``convert_block``, ``convert_unit``);
  ``writing``: the output's arrays, and writes of whole units only;
- ``output``: where it goes (``Output``: a folder or an s3:// prefix);
  ``state`` and ``object_state``: the manifest and done markers there
  (``ConversionState``); ``resume``: the one decision to start, resume or
  do nothing;
- ``target``: what is made, an image (``ImageTarget``), whose OME-Zarr
  metadata is written last; ``labels``: a label image of one
  (``LabelTarget``, ``--labels NAME``), lower levels by ``downsample_mode``;
- ``progress``: the progress bars and the dask callback that advances them;
- ``run``: ``convert_stack``, which opens the source and the output, plans,
  builds the dask graph and runs it on a client, or on threads of this
  process; given an OME-Zarr image, ``migrate``: every level copied as it is
  into another OME-Zarr version, chunking or sharding (``CopyPlan``, copy
  tasks of whole units), resumable like a conversion;
- ``cluster``: ``--scheduler ADDRESS``, the client of a dask cluster that is
  already running (``connect``, ``disconnect``); a worker lost part-way
  loses nothing, as dask reruns its tasks, which write whole units;
- ``cli`` and ``__main__``: the command line; ``errors``: ``ConversionError``.

How the work is split (``U`` is the chunk length, or the shard length with
``--shards``; every task writes whole chunks, or whole shards, only):

- a *block task* owns ``2U`` slices x ``2U`` rows x ``columns`` of level 0,
  ``Plan.block_shape()``: ``columns`` is as many ``2U`` as fit in a piece of
  ``PIECE_VOXELS`` (2048 columns with 128^3 chunks, 512 with 256^3 shards),
  whatever the width of the slices. It reads its rows of each slice in four
  pieces of ``U x U x columns``, writes each piece as level-0 chunks (shards)
  and keeps only its 2x2x2 block mean, which makes the block's
  ``U x U x columns/2`` of level 1 (written at the end of the task). Level 1
  costs no second pass over level 0.
- with JPEG 2000 slices, which cannot be read by rows, a *stage task* per
  slice (key ``("decode", z)``) first decodes it once into raw voxels in
  ``.conversion/decoded``; the block tasks of its slices wait for it and read
  that copy by rows. It holds one slice (``Plan.task_bytes()["decode"]``).
- a *unit task* makes one chunk (or shard) of level ``k + 1 >= 2`` from the
  2x2x2 chunks (shards) of level ``k`` under it.

A block task holds about 1.5 pieces (``PIECE_VOXELS``, or ``2 U**3`` when
that is more; ``Plan.task_bytes()`` gives the bytes) and a unit task ``2 U**3``
voxels, and beside them the averaging's working copies of one plane of the
lower level at a time (``Plan.work_bytes()``): memory grows with the chunk
size and the number of workers, never with the width of the slices, their
number or rows. After writing, a task leaves
an empty marker file in the output's hidden ``.conversion/done`` folder; a
rerun skips the tasks with markers and redoes the others whole, so a chunk cut
short by a kill is rewritten. The OME-Zarr metadata goes into the group last:
until then the output is not a valid-looking image.
"""

from data_helpers.convert.cli import main
from data_helpers.convert.errors import ConversionError
from data_helpers.convert.migrate import migrate_image
from data_helpers.convert.output import Output
from data_helpers.convert.plan import (
    PIECE_VOXELS,
    Downsampling,
    Plan,
    Task,
    TaskKind,
    ZarrFormat,
    default_levels,
)
from data_helpers.convert.run import Conversion, convert_stack
from data_helpers.convert.sources import Source, open_source, open_sources
from data_helpers.convert.sources.slices import inspect_slices, natural_key, read_window
from data_helpers.convert.state import STATE_FOLDER
from data_helpers.convert.tasks import convert_block, convert_unit
from data_helpers.shards import check_whole_units

__all__ = [
    "PIECE_VOXELS",
    "STATE_FOLDER",
    "Conversion",
    "ConversionError",
    "Downsampling",
    "Output",
    "Plan",
    "Source",
    "Task",
    "TaskKind",
    "ZarrFormat",
    "check_whole_units",
    "convert_block",
    "convert_stack",
    "convert_unit",
    "default_levels",
    "inspect_slices",
    "main",
    "migrate_image",
    "natural_key",
    "open_source",
    "open_sources",
    "read_window",
]
