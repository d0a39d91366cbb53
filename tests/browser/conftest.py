"""Fixtures for the browser tests: the built site, a web server and Chromium.

The site is ``$BOOK_HTML_DIR`` if set, else ``_build/html`` (``nox -s browser``
builds it first).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.browser.book import REPO
from tests.data_server import DataServer

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1024",
]


@pytest.fixture(scope="session")
def site() -> Path:
    """The folder of the built HTML site."""
    given = os.environ.get("BOOK_HTML_DIR")
    html = Path(given) if given else REPO / "_build" / "html"
    if not (html / "index.html").is_file():
        pytest.fail(f"No built site in {html}: build it first with `nox -s book`.")
    return html.resolve()


@pytest.fixture(scope="session")
def site_url(site: Path) -> Iterator[str]:
    """Base URL of the site, served on 127.0.0.1 at a free port."""
    with DataServer(site) as server:
        yield server.url


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile that records the console."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            pytest.fail(f"{path} is missing: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield chrome
    chrome.quit()
