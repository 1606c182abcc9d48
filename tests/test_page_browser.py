"""The live page in a real headless Chromium (the Debian binary; never a downloaded browser).

It must render without console errors, show the same monthly spend as /api/usage, show budget
status first, stay readable at phone width, and show a session name containing `<script>` as text.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import sync_playwright

from claude_usage.formatting import usd
from tests.support.exporter import ExporterProcess
from tests.support.usage_env import CHROMIUM_ARGS, HOSTILE_NAME, chromium_path, usage_config, write_current_usage
from tests.support.waiting import http_get


@pytest.fixture
def exporter(tmp_path, fixture_roots):
    claude_root, openclaw_root = fixture_roots
    write_current_usage(claude_root, openclaw_root, session_name=HOSTILE_NAME)
    process = ExporterProcess(tmp_path / "exporter", usage_config(claude_root, openclaw_root)).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_page_in_chromium(exporter, browser):
    status, headers, _ = http_get(exporter.url + "/")
    assert status == 200 and "script-src" not in headers["Content-Security-Policy"]  # default-src 'none' covers scripts
    document = json.loads(http_get(exporter.url + "/api/usage")[2])
    month_cost = document["periods"]["month"]["cost_usd"]

    for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        page = browser.new_page(viewport=viewport)
        problems: list[str] = []
        page.on(
            "console",
            lambda message: problems.append(f"{message.type}: {message.text}") if message.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        response = page.goto(exporter.url + "/", wait_until="load")
        assert response is not None and response.status == 200
        assert problems == [], problems
        assert all(url.startswith(exporter.url) for url in requested), requested  # self-contained

        # the same monthly spend as /api/usage, to the cent
        spend = page.locator("#month-spend")
        assert spend.inner_text() == usd(month_cost)
        assert float(spend.get_attribute("data-usd")) == pytest.approx(month_cost, abs=0.005)

        # budget status comes first, and the exceeded budget says so with the overage in USD and percent
        assert page.locator("main section").first.get_attribute("id") == "budgets"
        card = page.locator("[data-budget='monthly']")
        assert card.get_attribute("data-status") == "exceeded"
        monthly = next(b for b in document["budgets"] if b["name"] == "monthly")
        assert f"Over budget by {usd(monthly['overage_usd'])} ({monthly['overage_percent']:.0f}% over budget)" in card.inner_text()
        assert page.locator("#overall-status").inner_text() == "Budget exceeded"

        # the hostile session name is text, not markup, and nothing ran
        names = page.locator("#sessions td .name").all_inner_texts()
        assert HOSTILE_NAME in names
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"

        # readable on a phone: nothing wider than the screen (wide tables scroll inside their box)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert page.locator("meta[http-equiv='refresh']").get_attribute("content") == "60"
        page.close()
