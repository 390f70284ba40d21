"""Headless Chromium for the browser tests (Debian's chromium and chromium-driver, `make browser`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def headless_chromium(tmp_path: Path, window: str = "1400,1000") -> Any:
    """A Selenium driver of Debian's headless Chromium that never reaches the network by itself.

    Browser logs (``performance`` for the requests made, ``browser`` for console errors) are
    recorded. Fails (not skips) when Chromium is missing: ``make browser`` installs it.
    """
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail("Chromium and chromedriver are needed for the browser tests: `make browser` "
                    "(apt-get install chromium chromium-driver)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={window}", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def requested_urls(browser: Any) -> list[str]:
    """The URLs the page requested since the performance log was last read."""
    import json

    urls = []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def remote(urls: list[str]) -> list[str]:
    """The URLs that would leave the machine (anything but file, data, blob, about and chrome URLs)."""
    return [u for u in urls if not u.startswith(("file://", "data:", "blob:", "about:", "chrome://"))]
