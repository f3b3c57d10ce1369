"""The documentation site, built with `mkdocs build --strict`, served over HTTP and read by headless chromium.

The navigation reaches every page the build wrote, the search finds a
public name (`save_checkpoint`), and no page logs a JavaScript error (a
SEVERE entry in the browser's console: a script error, a resource that does
not load). Skips when mkdocs, chromium, its driver or selenium is missing,
unless SLURM_SEARCH_REQUIRE_BROWSER=1 (CI), where it fails instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from browser import chrome, free_port, missing

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from this checkout, with --strict."""
    if not (BIN / "mkdocs").exists():
        missing("mkdocs is not installed (pip install -r requirements-dev.txt)")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SLURM_SEARCH_HOME": str(out.parent / "home")}
    proc = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def served(site):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            assert server.poll() is None and time.time() < deadline, "http.server did not start"
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    driver = chrome(console=True)
    yield driver
    driver.quit()


def _pages(site: Path) -> set[str]:
    """Every page the build wrote, as a path below the site's root ('' for the home page)."""
    pages = set()
    for html in site.rglob("index.html"):
        rel = str(html.parent.relative_to(site))
        pages.add("" if rel == "." else rel + "/")
    return pages


def _severe(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.slow
def test_the_navigation_reaches_every_page_without_errors(site, served, browser):
    from selenium.webdriver.common.by import By

    expected = _pages(site)
    assert {"", "tutorials/slurm/", "reference/session/", "reference/ssearch/"} <= expected
    seen, queue, errors = set(), [""], {}
    while queue:
        page = queue.pop(0)
        if page in seen:
            continue
        seen.add(page)
        browser.get(urljoin(served, page))
        assert browser.title and "404" not in browser.title, (page, browser.title)
        severe = _severe(browser)
        if severe:
            errors[page] = severe
        for link in browser.find_elements(By.CSS_SELECTOR, "nav.md-nav--primary a.md-nav__link[href]"):
            target = urlparse(link.get_attribute("href"))
            if target.netloc == urlparse(served).netloc:
                path = target.path.lstrip("/")
                if path not in seen:
                    queue.append(path)
    assert errors == {}
    assert sorted(expected - seen) == [], "pages the navigation does not reach"


@pytest.mark.slow
def test_the_search_finds_a_public_name(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(served)
    box = WebDriverWait(browser, 20).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input")))
    box.click()
    box.send_keys("save_checkpoint")
    WebDriverWait(browser, 30).until(
        lambda d: any("save_checkpoint" in r.text for r in d.find_elements(By.CSS_SELECTOR, ".md-search-result__item"))
    )
    results = browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item a")
    hrefs = [r.get_attribute("href") for r in results]
    assert any("reference/session/" in h for h in hrefs), hrefs
    assert any("tutorials/slurm/" in h for h in hrefs), hrefs
    assert _severe(browser) == []


REFERENCE = {
    "slurm_search.locking": "reference/locking",
    "slurm_search.state": "reference/state",
    "slurm_search.session": "reference/session",
    "slurm_search.session.workers": "reference/workers",
    "slurm_search.dsl": "reference/dsl",
    "slurm_search.rl": "reference/rl",
}


@pytest.mark.slow
def test_the_reference_has_every_public_name_and_the_full_help(site):
    import importlib

    for module, page in REFERENCE.items():
        html = (site / page / "index.html").read_text()
        missing = [n for n in importlib.import_module(module).__all__ if f'id="{module}.{n}"' not in html]
        assert missing == [], (module, missing)
    help_page = (site / "reference/ssearch/index.html").read_text()
    top = subprocess.run([str(BIN / "ssearch"), "--help"], capture_output=True, text=True, check=True).stdout
    for sub in ("start", "trials", "dashboard", "salvage", "generational_work_on"):
        assert f"$ ssearch {sub} --help" in help_page and sub in top
    assert "--print-config" in (site / "reference/run_exp/index.html").read_text()
