"""Keep outputs in the executed notebooks that the ``.ipynb`` download serves.

myst-nb 1.4 writes ``_build/jupyter_execute/<page>.ipynb`` from the notebook it
read, before outputs taken from the execution cache are merged in (a fresh
execution fills that notebook in place, a cache hit does not). So when a chapter
is re-read but not re-executed, for example after a prose edit, that file has no
outputs, and neither has the copy sphinx-book-theme serves as the ``.ipynb``
download. After each page is read, this extension merges the cached outputs
into the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from docutils import nodes
from jupyter_cache import get_cache
from sphinx.application import Sphinx


def restore_cached_outputs(app: Sphinx, doctree: nodes.document) -> None:
    """Merge the execution cache's outputs into the page's executed notebook."""
    config = app.env.mystnb_config  # myst-nb's settings, with its resolved paths
    if config.execution_mode != "cache":
        return
    path = Path(config.output_folder, f"{app.env.docname}.ipynb")
    if not path.is_file():
        return  # not a notebook page
    notebook = nbformat.read(path, as_version=4)
    cache = get_cache(config.execution_cache_path)
    try:
        _, merged = cache.merge_match_into_notebook(notebook)
    except KeyError:
        return  # no cached run matches: the notebook was not executed
    if merged != notebook:
        nbformat.write(merged, path)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the ``doctree-read`` handler (it runs after myst-nb's parser)."""
    app.connect("doctree-read", restore_cached_outputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
