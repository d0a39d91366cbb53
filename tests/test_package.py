"""The package's lazily imported names and the imports type checkers read."""

import ast
from pathlib import Path

import data_helpers


def type_checking_imports() -> dict[str, str]:
    """Name -> module of each import under ``if TYPE_CHECKING:`` in __init__.py."""
    tree = ast.parse(Path(data_helpers.__file__).read_text(encoding="utf-8"))
    (block,) = (
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    names: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        assert node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"import {alias.name} as itself"
            names[alias.name] = node.module.removeprefix("data_helpers.")
    return names


def test_type_checkers_see_the_names_imported_on_first_use() -> None:
    """mypy and editors read the ``TYPE_CHECKING`` imports; ``__getattr__`` reads
    ``_MODULES``: the same names, from the same modules."""
    assert type_checking_imports() == data_helpers._MODULES
