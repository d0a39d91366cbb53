"""A local HTTP server that serves the sample data, for tests and CI."""

from __future__ import annotations

import argparse
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class DataServer:
    """Serve ``root`` on 127.0.0.1 in a background thread, recording requests."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.requests: list[str] = []
        handler = functools.partial(_Handler, self, directory=str(self.root))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the served folder, ending in a slash."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> DataServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, server_state: DataServer, *args, **kwargs) -> None:
        self._state = server_state
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 (name fixed by http.server)
        self._state.requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


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
