"""Check an OME-Zarr image: its metadata, its arrays, and (deep) every chunk.

Use it from Python (``check_image``) or the shell::

    python -m data_helpers.check IMAGE [--deep] [--json] [--workers N]

``IMAGE`` is a local path, an ``http(s)://`` URL (read with range requests)
or an ``s3://`` URL (endpoint and credentials from the AWS environment
variables, see ``data_helpers.remote``). It prints a summary of the image,
then one line per problem (``PROBLEM <where>: what is wrong, and what it
means``) and per piece of information (``INFO ...``). Without ``--deep`` it
reads metadata and array headers only; with ``--deep`` it also reads every
chunk of every level, in parallel on dask (a worker holds at most 2 x 2 x 2
chunks, or one shard, and the part of the next level under them), and
compares each level with the block mean of the level above (the block mode
for a label image) over the factors their scales say: 2 x 2 x 2, 1 x 2 x 2
for an anisotropic level, 1 along t and c. Axes may be t, c, z, y, x (those
present); a level that downsamples t or c is a problem. Exit
status: 0 no problems, 1 problems, 2 it could not check at all (no such path,
not a Zarr group, no multiscales).

Modules: ``result`` (findings, level summaries, ``CheckResult``), ``metadata``
(metadata and array headers), ``deep`` (every chunk, and each level against the
level above), ``image`` (``check_image``), ``cli`` (the command line).
"""

from data_helpers.check.cli import main
from data_helpers.check.deep import block_mean
from data_helpers.check.image import check_image
from data_helpers.check.result import CheckError, CheckResult, Finding, Level, Summary

__all__ = [
    "CheckError",
    "CheckResult",
    "Finding",
    "Level",
    "Summary",
    "block_mean",
    "check_image",
    "main",
]
