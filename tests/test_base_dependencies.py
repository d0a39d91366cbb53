"""``pip install data_helpers`` alone runs ``convert`` and ``check``.

The README's "Only the commands" installs the package without the ``book``
extra. So every library the two commands can import, at the top of a module or
inside a function (s3fs only for ``s3://``, say), must come with the base
dependencies of ``pyproject.toml``, directly or through one of theirs.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ["data_helpers.convert.__main__", "data_helpers.check.__main__"]


def module_file(name: str) -> Path:
    """The source of a data_helpers module or package."""
    path = REPO.joinpath(*name.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported_names(path: Path) -> set[str]:
    """Modules a file imports anywhere, except under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join(base) if node.level else ""
            module = ".".join(p for p in (module, node.module or "") if p)
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def third_party_imports(roots: list[str]) -> set[str]:
    """Top-level non-standard modules that importing ``roots`` can import."""
    seen: set[str] = set()
    todo = list(roots)
    outside: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")  # importing a.b.c runs a and a.b first
        todo += [".".join(parts[:n]) for n in range(1, len(parts))]
        for imported in imported_names(module_file(name)):
            top = imported.split(".")[0]
            if top == "data_helpers":
                parts = imported.split(".")
                while parts and not module_file(".".join(parts)).is_file():
                    parts.pop()  # "from data_helpers.x import name": module x
                todo.append(".".join(parts))
            elif top not in sys.stdlib_module_names and top != "__future__":
                outside.add(top)
    return outside


def installed_closure(requirements: list[str]) -> set[str]:
    """Distributions the requirements install, with their own dependencies."""
    found: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in found:
            continue
        found |= {name, key}
        for line in importlib.metadata.requires(name) or []:
            todo += [(Requirement(line), e) for e in ("", *requirement.extras)]
    return {entry for entry in found if "[" not in entry}


def test_the_commands_need_only_the_base_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    installed = installed_closure(project["dependencies"])
    providers = importlib.metadata.packages_distributions()
    missing = []
    for module in sorted(third_party_imports(COMMANDS)):
        names = {canonicalize_name(d) for d in providers.get(module, [])}
        if not names & installed:
            missing.append(f"{module} (from {sorted(names) or 'unknown'})")
    assert missing == [], "add these to [project] dependencies in pyproject.toml"


@pytest.mark.parametrize("root", COMMANDS)
def test_the_scan_follows_the_package(root: str) -> None:
    """The scan reaches the modules that need zarr and, for s3://, s3fs."""
    assert {"zarr", "s3fs"} <= third_party_imports([root])
