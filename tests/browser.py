"""Debian's headless chromium through selenium, for the tests that read a page in a real browser.

`chrome()` skips the test when chromium, its driver or selenium is missing,
unless SLURM_SEARCH_REQUIRE_BROWSER=1 (CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import Any

import pytest

FLAGS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000")


def missing(reason: str) -> None:
    """Skip with `reason`, or fail with it in CI (SLURM_SEARCH_REQUIRE_BROWSER=1)."""
    if os.environ.get("SLURM_SEARCH_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (SLURM_SEARCH_REQUIRE_BROWSER=1: `make install` as root installs it)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chrome(console: bool = False) -> Any:
    """A headless chromium driven by the system's chromedriver (selenium downloads nothing).

    Args:
        console: keep the browser's console entries (`driver.get_log("browser")`).
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install -r requirements-dev.txt)")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        missing("Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in FLAGS:
        options.add_argument(arg)
    if console:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(driver_path))
