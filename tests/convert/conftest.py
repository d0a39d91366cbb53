"""Fixtures of the converter's tests: an odd-shaped stack and its conversion,
and a local S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from data_helpers.convert import convert_stack
from tests.convert.helpers import ODD_SHAPE, random_volume, write_slices

if TYPE_CHECKING:
    from data_helpers.local_s3 import LocalS3


@pytest.fixture(scope="module")
def odd_stack(tmp_path_factory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("odd") / "slices"
    volume = random_volume(ODD_SHAPE, seed=1)
    write_slices(folder, volume, rowsperstrip=4)
    return folder, volume


@pytest.fixture(scope="module")
def odd_output(odd_stack, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("odd-out") / "odd.ome.zarr"
    convert_stack(odd_stack[0], output, chunks=16, progress=False)
    return output


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalS3]:
    """A fresh moto server, a bucket ``book``, and the AWS variables pointing at it."""
    from data_helpers.local_s3 import LocalS3  # moto: only for the tests using S3

    with LocalS3() as server:
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)
        server.create_bucket("book")
        yield server
