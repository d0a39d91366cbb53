"""Serve a folder over HTTP the way an object store does: byte ranges, CORS, a log.

``FolderServer`` answers ``GET`` and ``HEAD`` for the files under one folder,
single byte ranges (``bytes=a-b``, ``bytes=a-`` and the suffix ``bytes=-n``)
with ``206 Partial Content`` and ``Content-Range``, and the CORS headers a
browser needs to read Zarr data from another origin (including the answer to
an ``OPTIONS`` preflight, which a suffix or multi-part ``Range`` triggers; a
single range with a start is CORS-safelisted and needs none). It never serves
a file outside its folder (``..``, ``%2e%2e`` and symlinks that lead out are
refused), lists no folders, binds ``127.0.0.1`` unless told otherwise, can wait
before every answer to stand in for network latency, and records every request.

Python's own ``http.server`` ignores ``Range``, so a reader of sharded Zarr
data, which asks for parts of each shard, gets nothing useful from it.
"""

from __future__ import annotations

import mimetypes
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

__all__ = ["FolderServer", "ServedRequest", "parse_range"]

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, Content-Type",
    "Access-Control-Expose-Headers": "Content-Range, Content-Length, Accept-Ranges",
    "Access-Control-Max-Age": "600",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")


@dataclass(frozen=True)
class ServedRequest:
    """One request the server answered: ``key`` is the path below the folder."""

    method: str
    key: str
    byte_range: str
    status: int
    nbytes: int


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The ``(start, stop)`` of a single ``Range`` header over ``size`` bytes.

    ``bytes=a-b`` is bytes ``a`` to ``b`` inclusive, ``bytes=a-`` from ``a`` to
    the end, ``bytes=-n`` the last ``n``; ``stop`` is exclusive. Returns
    ``None`` for a range that cannot be satisfied; raises ``ValueError`` for a
    header that is not a single byte range (it is then ignored, as HTTP allows).
    """
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.groups() == ("", ""):
        raise ValueError(f"not a single byte range: {header!r}")
    first, last = match.groups()
    if not first:  # suffix: the last n bytes
        length = int(last)
        return None if length == 0 else (max(size - length, 0), size)
    start = int(first)
    stop = size if not last else min(int(last) + 1, size)
    if start >= size or stop <= start:
        return None
    return start, stop


def family(host: str) -> socket.AddressFamily:
    """The address family to listen on ``host``: IPv6 for an IPv6 address."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


class FolderServer:
    """Serve ``root`` over HTTP in a background thread; use it as a context manager.

    ``mounts`` adds other folders under URL prefixes (``{"viewer": path}``
    serves ``path`` at ``/viewer/``); a folder is only served whole, never
    above itself. ``delay`` seconds are waited before each answer. Every
    request is appended to ``requests``. ``port=0`` picks a free port.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        mounts: Mapping[str, Path | str] | None = None,
    ) -> None:
        folders = {"": Path(root)} | {
            prefix.strip("/"): Path(path) for prefix, path in (mounts or {}).items()
        }
        for folder in folders.values():
            if not folder.is_dir():
                raise NotADirectoryError(f"Cannot serve {folder}: not a folder.")
        self.folders = {prefix: path.resolve() for prefix, path in folders.items()}
        self.delay = delay
        self.requests: list[ServedRequest] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        handler = type("Handler", (_Handler,), {"owner": self})
        server = type(
            "Server", (ThreadingHTTPServer,), {"address_family": family(host)}
        )
        self._httpd = server((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the served folder, ending in a slash."""
        host, port = self._httpd.server_address[:2]
        return f"http://{url_host(str(host))}:{port}/"

    @property
    def port(self) -> int:
        """The port the server listens on (the free one picked for ``port=0``)."""
        return int(self._httpd.server_address[1])

    def start(self) -> FolderServer:
        """Start answering requests in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> FolderServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Answer requests in this thread until interrupted (Ctrl-C)."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def file_for(self, url_path: str) -> Path | None:
        """The file a URL path names, or ``None`` if it is not inside a folder."""
        key = unquote(urlsplit(url_path).path).lstrip("/")
        parts = key.split("/")
        if any(part in ("..", ".") for part in parts) or "\\" in key or "\0" in key:
            return None
        prefix, rest = (parts[0], "/".join(parts[1:])) if len(parts) > 1 else ("", key)
        if prefix not in self.folders or prefix == "":
            prefix, rest = "", key
        folder = self.folders[prefix]
        path = (folder / rest).resolve()
        if path.is_dir():
            path = (path / "index.html").resolve()
        if folder not in path.parents:
            return None  # a symlink that leads out of the folder
        return path if path.is_file() else None

    def record(self, request: ServedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until every request received so far has been answered and logged.

        A client has its answer a moment before the server notes it in
        ``requests``: call this before reading the log right after a read.
        """
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(f"{self._in_flight} request(s) still unanswered")

    def _begin(self) -> None:
        with self._lock:
            self._in_flight += 1

    def _end(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()


class _Handler(BaseHTTPRequestHandler):
    owner: FolderServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle's algorithm
    # holds the body until the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True
    _counted = False

    def parse_request(self) -> bool:
        # Called once a request line has arrived (not while a kept-alive
        # connection waits for the next one): from here the request is in flight.
        self.owner._begin()
        self._counted = True
        return super().parse_request()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            if self._counted:
                self._counted = False
                self.owner._end()

    def do_OPTIONS(self) -> None:  # noqa: N802 (name fixed by http.server)
        self._wait()
        self._log(HTTPStatus.NO_CONTENT, 0, "")
        self.send_response(HTTPStatus.NO_CONTENT)
        self._send_headers({"Content-Length": "0"})

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        self._wait()
        path = self.owner.file_for(self.path)
        if path is None:
            return self._fail(HTTPStatus.NOT_FOUND)
        size = path.stat().st_size
        start, stop, status = 0, size, HTTPStatus.OK
        header = self.headers.get("Range")
        described = ""
        if header:
            try:
                span = parse_range(header, size)
            except ValueError:
                span = (0, size)  # not a single byte range: send the whole file
            else:
                described = header.removeprefix("bytes=")
                if span is None:
                    self._log(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, 0, "")
                    self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                    return self._send_headers(
                        {"Content-Range": f"bytes */{size}", "Content-Length": "0"}
                    )
                status = HTTPStatus.PARTIAL_CONTENT
            start, stop = span
        headers = {
            "Content-Type": mimetypes.guess_type(path.name)[0]
            or "application/octet-stream",
            "Content-Length": str(stop - start),
            "Accept-Ranges": "bytes",
        }
        if status == HTTPStatus.PARTIAL_CONTENT:
            headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        self._log(status, stop - start if body else 0, described)
        self.send_response(status)
        self._send_headers(headers)
        if body:
            with path.open("rb") as file:
                file.seek(start)
                self.wfile.write(file.read(stop - start))

    def _fail(self, status: HTTPStatus) -> None:
        message = f"{status.value} {status.phrase}\n".encode()
        self._log(status, 0, "")
        self.send_response(status)
        self._send_headers(
            {"Content-Type": "text/plain", "Content-Length": str(len(message))}
        )
        if self.command != "HEAD":
            self.wfile.write(message)

    def _send_headers(self, headers: Mapping[str, str]) -> None:
        for name, value in {**CORS_HEADERS, **headers}.items():
            self.send_header(name, value)
        self.end_headers()

    def _wait(self) -> None:
        if self.owner.delay:
            time.sleep(self.owner.delay)

    def _log(self, status: int, nbytes: int, byte_range: str) -> None:
        # Recorded before the answer goes out, so a client that has its answer
        # finds its request in the log.
        key = unquote(urlsplit(self.path).path).lstrip("/")
        self.owner.record(
            ServedRequest(self.command, key, byte_range or "all", int(status), nbytes)
        )

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the record in FolderServer.requests replaces the stderr log
