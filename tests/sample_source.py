"""Where the tests' copy of the sample data comes from: one decision, here.

The tests serve the sample data from a local :class:`~tests.data_server.DataServer`
(tests may damage a copy, and count the downloads). They serve the folder that
``sample_data_folder`` returns, which holds ``hoa_heart.zarr/``:

1. the maintainers' copy, ``../shared/data`` beside the repository (or the folder
   in ``DATA_HELPERS_SHARED``), if it holds the sample;
2. otherwise the copy a reader gets: ``data_helpers.sample_data`` downloads it
   with pooch (from ``DATA_HELPERS_URL``, else the public URL) into its cache
   (``DATA_HELPERS_CACHE``, else the operating system's cache folder), checking
   every file against ``data_helpers/registry.txt``.

When neither gives a copy, the tests that need it skip, saying why; with
``DATA_HELPERS_REQUIRE_DATA=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from data_helpers.sample_data import HEART_FOLDER, SampleDataError, fetch_heart_data
from tests.data_server import SHARED_ENV, shared_data

REQUIRE_ENV = "DATA_HELPERS_REQUIRE_DATA"


def sample_data_folder() -> Path:
    """The folder holding ``hoa_heart.zarr/`` that the tests serve (see above).

    Skips the calling test when no copy can be had (fails with
    ``DATA_HELPERS_REQUIRE_DATA=1``). A downloaded file that does not match its
    hash is an error, not a reason to skip.
    """
    shared = shared_data()
    if (shared / HEART_FOLDER / ".zarray").is_file():
        return shared
    try:
        return fetch_heart_data().parent
    except SampleDataError as error:
        if not isinstance(error.__cause__, requests.RequestException):
            raise
        message = (
            f"No copy of the sample data for the tests: {shared} holds no "
            f"{HEART_FOLDER}/ and the download failed. {error} Or set {SHARED_ENV} "
            f"to a folder that holds {HEART_FOLDER}/."
        )
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
