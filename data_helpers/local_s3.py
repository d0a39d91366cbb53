"""A real S3 API on 127.0.0.1 for examples and tests: moto's server mode, no account.

``LocalS3`` runs moto's ``ThreadedMotoServer`` in a background thread on a
free port, gives the standard AWS environment variables that point a client at
it, and records every HTTP request it answers (method, path, status). Nothing
leaves the machine; the buckets live in memory while the server runs.
"""

from __future__ import annotations

import logging
import re
import urllib.request
from dataclasses import dataclass
from types import TracebackType

import s3fs
from moto.server import ThreadedMotoServer

__all__ = ["LocalS3", "S3Request"]

#: Fixed credentials: moto accepts any, and they are not secret.
ACCESS_KEY, SECRET_KEY, REGION = "book-example", "book-example-secret", "eu-west-1"
_REQUEST_LINE = re.compile(r"(\w+) (\S+) HTTP/[\d.]+")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours some request lines


@dataclass(frozen=True)
class S3Request:
    """One request the server answered: ``path`` is ``/bucket/key?query``."""

    method: str
    path: str
    status: int


class _Recorder(logging.Handler):
    """Keep werkzeug's one record per answered request, instead of printing it."""

    def __init__(self, requests: list[S3Request]) -> None:
        super().__init__(logging.INFO)
        self.requests = requests

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        line = _COLOUR.sub("", str(args[0])) if len(args) == 3 else ""
        if match := _REQUEST_LINE.fullmatch(line):
            self.requests.append(S3Request(match[1], match[2], int(str(args[1]))))


class LocalS3:
    """moto's S3 server on ``127.0.0.1`` and a free port; a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[S3Request] = []
        self._server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
        self._recorder = _Recorder(self.requests)
        self._logger = logging.getLogger("werkzeug")

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def environment(self) -> dict[str, str]:
        """The AWS variables that point any S3 client (s3fs, boto3, obstore) here."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_ALLOW_HTTP": "true",
        }

    def create_bucket(self, name: str) -> None:
        """Create an empty bucket ``name`` (as the owner of a real bucket would)."""
        fs = s3fs.S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            endpoint_url=self.endpoint_url,
            client_kwargs={"region_name": REGION},
            skip_instance_cache=True,
        )
        fs.mkdir(name, region_name=REGION)

    def start(self) -> LocalS3:
        """Start answering in a background thread (requests logged, not printed)."""
        self._logger.setLevel(logging.INFO)
        self._logger.propagate = False
        self._logger.addHandler(self._recorder)
        self._server.start()
        self.reset()
        return self

    def reset(self) -> None:
        """Delete every bucket: moto keeps them per process, across servers."""
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):
            pass
        self.requests.clear()

    def stop(self) -> None:
        """Stop the server, free its port and forget its buckets."""
        self.reset()
        self._server.stop()
        self._logger.removeHandler(self._recorder)

    def __enter__(self) -> LocalS3:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
