"""Running on a dask cluster that is already there: ``--scheduler ADDRESS``.

``connect`` gives a ``distributed.Client`` of the scheduler at ``ADDRESS``
(one that ``dask scheduler``, ``dask_jobqueue`` or a cloud service started),
or a ConversionError in one line if none answers within ``CONNECT_SECONDS``;
``disconnect`` closes it. The tasks then run on the cluster's workers, which
may be other processes on other machines: the input and output paths must be
absolute (``open_source`` and ``Output.of`` make them so) and the same on
every machine, and every worker needs this package and the same AWS
variables for an ``s3://`` output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from data_helpers.convert.errors import ConversionError

if TYPE_CHECKING:
    from distributed import Client

#: Seconds to wait for the scheduler to answer before giving up: a scheduler
#: that is running answers in well under a second, even over a network.
CONNECT_SECONDS = 5.0


def connect(address: str | None, timeout: float | None = None) -> Client | None:
    """A client of the dask scheduler at ``address`` (None: no cluster, None).

    Raises ConversionError, saying what to check, when no scheduler answers
    there within ``timeout`` seconds (default ``CONNECT_SECONDS``).
    """
    if address is None:
        return None
    from distributed import Client  # imported only to use a cluster: it is slow

    seconds = CONNECT_SECONDS if timeout is None else timeout
    try:
        return Client(address, timeout=seconds)  # the default client: run.py uses it
    except (ValueError, TypeError) as error:
        raise ConversionError(
            f"--scheduler {address} is not a scheduler address ({_said(error)}): "
            "give the one dask scheduler prints, such as tcp://10.0.0.5:8786."
        ) from None
    except OSError as error:
        said = _said(error)
        why = "" if said.startswith("Timed out") else f" ({said})"
        raise ConversionError(
            f"--scheduler {address}: no dask scheduler answered within "
            f"{seconds:g} s{why}: check the address, or start a scheduler "
            "(dask scheduler) and give the address it prints."
        ) from None


def _said(error: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(error).split()) or type(error).__name__


def disconnect(client: Client | None) -> None:
    """Close the client ``connect`` gave, if any (the cluster keeps running)."""
    if client is not None:
        client.close()
