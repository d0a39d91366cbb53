"""A local HTTP server that serves the sample data, for tests and CI."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from data_helpers.serve import FolderServer, ServedRequest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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
    parser.add_argument("root", nargs="?", default=str(SHARED_DATA))
    args = parser.parse_args()
    with DataServer(Path(args.root)) as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
