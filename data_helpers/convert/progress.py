"""Progress of a conversion: a tqdm bar, a bar for Jupyter, and the dask callback."""

from __future__ import annotations

import time
from collections.abc import Collection, Hashable
from typing import Any, Protocol

from dask.callbacks import Callback
from tqdm import tqdm


class Bar(Protocol):
    """What the converter needs of a progress bar (tqdm has it)."""

    def update(self, n: int = 1) -> Any: ...
    def __enter__(self) -> Bar: ...
    def __exit__(self, *exc: object) -> Any: ...


class NotebookBar:
    """A text progress bar for Jupyter, updated in place (no stderr).

    The saved notebook keeps only its last state, so a built book shows one
    finished bar.
    """

    def __init__(self, total: int) -> None:
        from IPython.display import display

        self.total, self.n, self.start, self.shown = total, 0, time.perf_counter(), 0.0
        self.handle = display({"text/plain": self.text()}, raw=True, display_id=True)

    def text(self) -> str:
        """The bar as one line of text."""
        elapsed = time.perf_counter() - self.start
        return tqdm.format_meter(
            self.n, self.total, elapsed, prefix="Converting", unit="task", ncols=80
        )

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` tasks; redraw at most five times a second."""
        self.n += n
        if time.perf_counter() - self.shown > 0.2 or self.n == self.total:
            self.shown = time.perf_counter()
            self.handle.update({"text/plain": self.text()}, raw=True)

    def __enter__(self) -> NotebookBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.update({"text/plain": self.text()}, raw=True)


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel."""
    try:
        from IPython import get_ipython

        return "IPKernelApp" in get_ipython().config
    except (ImportError, AttributeError):
        return False


def progress_bar(total: int, progress: bool) -> Bar:
    """A tqdm bar on stderr, a NotebookBar inside Jupyter, or a silent one."""
    if progress and in_notebook():
        return NotebookBar(total)
    return tqdm(total=total, desc="Converting", unit="task", disable=not progress)


class TaskProgress(Callback):
    """Advance ``bar`` when one of the tasks ``keys`` finishes (local dask)."""

    def __init__(self, keys: Collection[Hashable], bar: Bar) -> None:
        super().__init__()
        self.keys, self.bar = set(keys), bar

    def _posttask(self, key, result, dsk, state, worker_id) -> None:  # noqa: ANN001
        if key in self.keys:
            self.bar.update(1)
