"""Write each script tag of a page once.

Sphinx 7.4 (the last Sphinx that jupyter-book 1 supports) lists twice each
inline script that an extension adds once the builder exists (fixed in later
Sphinx releases). sphinx-thebe's script declares a ``const``, so its second
copy fails in the browser with "Identifier 'THEBE_JS_URL' has already been
declared". This extension drops the repeats from every page.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def script_key(script: Any) -> tuple[Any, ...]:
    """What makes two script entries the same: file name and attributes.

    The repeated copy of an inline script has file name ``""`` where the first
    has ``None``, so the two differ for Sphinx but not here.
    """
    attributes = getattr(script, "attributes", {})
    filename = getattr(script, "filename", str(script)) or ""
    return (filename, tuple(sorted(attributes.items())))


def drop_repeated_scripts(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    """Keep the first of each identical entry in the page's script list."""
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for script in context.get("script_files", []):
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    """Run after every other extension has added its scripts to the page."""
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
