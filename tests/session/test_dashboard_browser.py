"""`ssearch dashboard` as a real process, read by Debian's headless chromium through selenium.

Skips when chromium, its driver or selenium is missing, unless
SLURM_SEARCH_REQUIRE_BROWSER=1 (CI), where it fails instead.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser import chrome, free_port
from hyperopt import hp

from slurm_search import session

SSEARCH = Path(sys.executable).parent / "ssearch"


@pytest.fixture
def browser():
    pytest.importorskip("optuna_dashboard")
    driver = chrome()
    yield driver
    driver.quit()


def _get_json(url: str, deadline: float, proc: subprocess.Popen) -> object:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"ssearch dashboard exited {proc.returncode}: {proc.stderr.read()}") from None
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def _record(name: str, n: int) -> None:
    for _ in range(n):
        trial = session.next_trial(name, "w1")
        session.record_result(name, "w1", trial.tid, trial.params["x"], attempt=trial.attempt)


def _wait_for_text(driver, text: str, timeout: float) -> str:
    deadline = time.time() + timeout
    while True:
        body = driver.find_element("tag name", "body").text
        if text in body:
            return body
        if time.time() > deadline:
            raise AssertionError(f"{text!r} not shown within {timeout}s; the page shows:\n{body[:2000]}")
        time.sleep(0.5)


@pytest.fixture
def dashboard():
    port = free_port()
    proc = subprocess.Popen(
        [str(SSEARCH), "dashboard", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    yield proc, f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=30)
    proc.stderr.close()


def test_the_dashboard_lists_a_session_and_follows_its_trials(browser, dashboard):
    name = session.create_session("session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=10)
    _record(name, 3)
    proc, url = dashboard
    studies = _get_json(f"{url}/api/studies", time.time() + 60, proc)["study_summaries"]
    assert [s["study_name"] for s in studies] == [name]

    browser.get(f"{url}/dashboard/")
    _wait_for_text(browser, name, 60)

    browser.get(f"{url}/dashboard/studies/{studies[0]['study_id']}/trials")
    _wait_for_text(browser, "3 Trials", 60)
    _record(name, 3)
    # No reload: the page polls the server, which reads the store again.
    _wait_for_text(browser, "6 Trials", 60)
    assert proc.poll() is None
    assert len(session.trial_rows(name)) == 6  # the dashboard wrote nothing


def test_the_served_dashboard_binds_loopback_and_refuses_writes(dashboard):
    pytest.importorskip("optuna_dashboard")
    name = session.create_session("session_test_objectives:noop", {"x": hp.uniform("x", 0, 1)}, max_evals=4)
    _record(name, 2)
    proc, url = dashboard
    studies = _get_json(f"{url}/api/studies", time.time() + 60, proc)["study_summaries"]
    study_id = studies[0]["study_id"]
    before = session.trial_rows(name)
    for method, path in (("DELETE", f"/api/studies/{study_id}"), ("POST", "/api/studies"),
                         ("PUT", f"/api/studies/{study_id}/note")):
        request = urllib.request.Request(url + path, data=b"{}", method=method)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 405 and "read-only" in json.load(err.value)["reason"]
    assert session.trial_rows(name) == before and session.progress(name).completed == 2
    # Bound to loopback only, as the first line says; a second dashboard on the port is one line.
    port = url.rsplit(":", 1)[1]
    with socket.socket() as s:
        s.settimeout(2)
        other = [a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")]
        if other:
            assert s.connect_ex((other[0], int(port))) != 0
    again = subprocess.run([str(SSEARCH), "dashboard", "--port", port], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        f"ssearch: error: cannot serve on 127.0.0.1:{port}: Address already in use; pick another --port (or --host)"
    ]


def test_the_dashboard_draws_learning_curves_a_maximising_direction_and_no_create_or_delete(browser, dashboard):
    # A maximising session whose objective reports a learning curve.
    name = session.create_session(
        "session_test_objectives:curve", {"x": hp.uniform("x", 0, 1)}, max_evals=4, context={"steps": 5}, goal="max",
    )
    session.work_on(name)
    proc, url = dashboard
    studies = _get_json(f"{url}/api/studies", time.time() + 60, proc)["study_summaries"]
    (study,) = [s for s in studies if s["study_name"] == name]
    assert study["directions"] == ["maximize"]
    detail = _get_json(f"{url}/api/studies/{study['study_id']}?after=0", time.time() + 60, proc)
    assert detail["has_intermediate_values"] is True
    assert [len(t["intermediate_values"]) for t in detail["trials"]] == [5] * 4

    browser.get(f"{url}/dashboard/")
    _wait_for_text(browser, name, 60)
    body = _wait_for_text(browser, "Direction:", 60)
    assert "Direction: MAXIMIZE" in body and "MINIMIZE" not in body
    # optuna-dashboard always draws Create and the cards' delete buttons: the served page hides them.
    time.sleep(1)
    shown = [b for b in browser.find_elements("tag name", "button") if b.is_displayed()]
    assert not [b for b in shown if b.text.strip().lower() == "create"]
    assert not [b for b in shown if b.find_elements("css selector", 'svg[data-testid="DeleteIcon"]')]
    assert [b for b in shown if b.text.strip().lower() == "reload"]  # the other buttons stay

    browser.get(f"{url}/dashboard/studies/{study['study_id']}")
    _wait_for_text(browser, "Intermediate values", 60)
    # The panel is a plot with one curve per trial.
    deadline = time.time() + 60
    while True:
        curves = browser.execute_script(
            "const p = document.getElementById('graph-intermediate-values');"
            "return p && p.data ? [p.data.length] : [];"
        )
        if curves and curves[0] == 4 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert curves == [4]


def test_the_dashboard_draws_a_multi_objective_sessions_pareto_front(browser, dashboard):
    pytest.importorskip("optuna")
    name = session.create_session(
        "session_test_objectives:two_values", {"x": hp.uniform("x", -1, 3)}, algo="optuna:NSGAIISampler",
        max_evals=12, seed=1, directions=["min", "min"],
    )
    session.work_on(name)
    front = {e["tid"] for e in session.pareto_front(name)}
    proc, url = dashboard
    studies = _get_json(f"{url}/api/studies", time.time() + 60, proc)["study_summaries"]
    (study,) = [s for s in studies if s["study_name"] == name]
    assert study["directions"] == ["minimize", "minimize"]
    detail = _get_json(f"{url}/api/studies/{study['study_id']}?after=0", time.time() + 60, proc)
    assert {t["number"] for t in detail["best_trials"]} == front

    browser.get(f"{url}/dashboard/studies/{study['study_id']}")
    _wait_for_text(browser, "Pareto Front", 60)
    deadline = time.time() + 60
    while True:
        # The plot's points: a trace of the front's trials, one of the others.
        points = browser.execute_script(
            "const p = document.getElementById('graph-pareto-front');"
            "return p && p.data ? p.data.map(d => [d.name || '', (d.x || []).length]) : [];"
        )
        if points and sum(n for _, n in points) == 12 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert sum(n for _, n in points) == 12
    assert sorted(n for _, n in points if n) == sorted([len(front), 12 - len(front)]), points
