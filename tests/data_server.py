"""A local HTTP server that serves the sample data, for tests and CI."""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

from data_helpers.serve import FolderServer, ServedRequest

SHARED_ENV = "DATA_HELPERS_SHARED"
#: The maintainers' copy of the sample data: ``shared/data`` beside the repository.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data() -> Path:
    """The folder with the maintainers' copy: ``$DATA_HELPERS_SHARED``, else
    ``SHARED_DATA``. Tests serve it when it holds ``hoa_heart.zarr/`` (see
    tests/sample_source.py)."""
    return Path(os.environ.get(SHARED_ENV) or SHARED_DATA)


class DataServer(FolderServer):
    """Serve ``root`` on 127.0.0.1 in a background thread.

    ``requests`` holds the URL path of every ``GET``, as the sample-data tests
    count downloads.
    """

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.root = Path(root)
        self.requests: list[str] = []  # type: ignore[assignment]

    def record(self, request: ServedRequest) -> None:
        if request.method == "GET":
            with self._lock:
                self.requests.append("/" + request.key)


def main() -> None:
    """Serve a folder until interrupted, printing its URL first (used by CI)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "root", nargs="?", help="default: $DATA_HELPERS_SHARED, else ../shared/data"
    )
    args = parser.parse_args()
    with DataServer(Path(args.root) if args.root else shared_data()) as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
