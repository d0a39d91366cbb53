"""Browser tests: open the built book in headless Chromium (``nox -s browser``)."""
