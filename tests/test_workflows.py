"""The GitHub workflows run nox sessions that exist, as .ci/run does; CITATION.cff."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.sample_source import REQUIRE_ENV

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
NOX_RUN = re.compile(r"\bnox -s ([\w-]+)")


def nox_sessions() -> set[str]:
    """The names of the sessions noxfile.py defines (``@nox.session`` functions)."""
    tree = ast.parse((REPO / "noxfile.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator.func if isinstance(decorator, ast.Call) else decorator
            if ast.unparse(call) == "nox.session":
                names.add(node.name)
    return names


def load(name: str) -> dict:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1: on = True
    return workflow


def run_lines(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def sessions_run(job: dict) -> list[str]:
    return [name for line in run_lines(job) for name in NOX_RUN.findall(line)]


def test_there_are_the_three_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "pages.yml", "weekly.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_nox_session_named_exists(path: Path) -> None:
    workflow = load(path.name)
    named = [name for job in workflow["jobs"].values() for name in sessions_run(job)]
    assert named, f"{path.name} runs no nox session"
    assert set(named) <= nox_sessions(), set(named) - nox_sessions()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_nox_is_the_version_ci_installs(path: Path) -> None:
    pinned = re.findall(r'"nox==([\d.]+)"', (REPO / ".ci" / "run").read_text())
    assert len(pinned) == 1
    assert re.findall(r'"nox==([\d.]+)"', path.read_text()) != []
    assert set(re.findall(r'"nox==([\d.]+)"', path.read_text())) == set(pinned)


def test_ci_runs_what_ci_run_runs_on_every_push_and_pull_request() -> None:
    workflow = load("ci.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["on"]["push"] is None  # every branch
    script = (REPO / ".ci" / "run").read_text().splitlines()
    local = [name for line in script for name in NOX_RUN.findall(line.split("#")[0])]
    (job,) = workflow["jobs"].values()
    assert sessions_run(job) == local


def test_ci_fails_rather_than_skips_without_sample_data() -> None:
    """Both CIs set what makes the tests fail, not skip, without sample data."""
    script = (REPO / ".ci" / "run").read_text().splitlines()
    assert f"export {REQUIRE_ENV}=1" in script
    (job,) = load("ci.yml")["jobs"].values()
    assert job["env"][REQUIRE_ENV] == "1"


def test_pages_deploys_the_built_html_from_main() -> None:
    workflow = load("pages.yml")
    assert workflow["on"]["push"] == {"branches": ["main"]}
    build = workflow["jobs"]["build"]
    assert sessions_run(build) == ["book"]
    lines = run_lines(build)
    assert "touch _build/html/.nojekyll" in lines
    upload = [s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", "")]
    assert [s["with"]["path"] for s in upload] == ["_build/html"]
    steps = [s.get("run") or s.get("uses") for s in build["steps"]]
    assert steps.index("touch _build/html/.nojekyll") < steps.index(upload[0]["uses"])
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any("deploy-pages" in s.get("uses", "") for s in deploy["steps"])
    assert workflow["permissions"]["pages"] == "write"


def test_weekly_runs_latest_and_linkcheck_without_blocking() -> None:
    workflow = load("weekly.yml")
    assert [entry["cron"] for entry in workflow["on"]["schedule"]]
    jobs = workflow["jobs"]
    assert sorted(n for job in jobs.values() for n in sessions_run(job)) == [
        "latest",
        "linkcheck",
    ]
    assert all(job.get("continue-on-error") is True for job in jobs.values())


def test_citation_file_names_the_book_its_license_and_repository() -> None:
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert citation["cff-version"] == "1.2.0"
    assert citation["type"] == "software"
    assert citation["title"] == config["title"]
    assert citation["license"] == project["license"]
    assert citation["repository-code"] == config["repository"]["url"]
    assert citation["authors"] == [{"name": config["author"]}]
    assert citation["message"]
