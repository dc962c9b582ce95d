"""The web UI in a real browser, against the system `anima demo` starts (issue #16).

One system for the module: ``anima demo`` (``anima up`` with the demo organization on its scripted
model: ``lead`` manages ``ren`` and ``yui``; asked for the onboarding brief, ``lead`` delegates to
``ren``, who writes a memory file and reports). Debian's chromium, driven by Playwright
(``executable_path``; no browser download), then: the chart shows the tree; a chat streams its
reply in and shows the delegation tool call from the live feed; a heartbeat fired from the CLI
appears in the open timeline without a reload; the chat's cycle opens and replays with no diff.

Screenshots go to ``$ANIMAWORKS_TEST_ARTIFACTS/web-ui/`` when that is set, else to pytest's
temporary folder (``.../web-ui-artifacts0``); the path is printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import RunningSystem, wait_until

from animas_tools.demo_cli import DEMO_TASK, MANAGER, MEMORY_PATH, RESEARCHER

pytestmark = [pytest.mark.e2e, pytest.mark.nats, pytest.mark.slow]

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("needs Debian's chromium (apt-get install -y chromium)", allow_module_level=True)

TIMEOUT_MS = 30_000
_SCRIPT_ERRORS: list[str] = []
"""Uncaught errors of the page's scripts (each test asserts there were none)."""
_FIRED = re.compile(r"heartbeat\.due (\S+)")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = os.environ.get("ANIMAWORKS_TEST_ARTIFACTS")
    folder = Path(base) / "web-ui" if base else tmp_path_factory.mktemp("web-ui-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"web UI screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """`anima demo` in a fresh home, once its request has been answered and its heartbeat fired."""
    home = tmp_path_factory.mktemp("web-ui") / "home"
    output = home.parent / "demo.log"
    with open(output, "w") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "animas_tools.cli",
                "demo",
                "--no-open",
                "--home",
                str(home),
                "--port",
                "0",
            ],
            env={**os.environ, "ANIMAWORKS_HOME": str(home), "ANIMAWORKS_SCHEDULER_PAUSED": "true"},
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
        )
    running = RunningSystem(home, process, output)
    try:
        running.wait_ready()
        wait_until(
            lambda: "demo is ready" in output.read_text() or process.poll() is not None,
            120,
            "the demo's organization, request and heartbeat",
        )
        assert process.poll() is None, output.read_text()
        said = output.read_text()
        assert f"From {RESEARCHER}:" in said, said
        assert "/api/animas/sample/" not in said, said  # the demo has no sample anima to suggest
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def page(browser: Any, system: RunningSystem) -> Iterator[Any]:
    served = httpx.get(system.url + "/", timeout=10)
    if served.status_code != 200 or not served.headers["content-type"].startswith("text/html"):
        pytest.fail(
            f"the gateway does not serve the web UI at / ({served.status_code}): "
            "is animas_gateway.api.ui.operations() in app.py?"
        )
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    opened.on("pageerror", lambda exc: _SCRIPT_ERRORS.append(str(exc)))
    opened.goto(system.url + "/#/org")
    yield opened
    context.close()


def _no_script_errors(page: Any) -> None:
    assert _SCRIPT_ERRORS == [], _SCRIPT_ERRORS


def test_the_chart_shows_the_organization_with_live_states(
    page: Any, system: RunningSystem, artifacts: Path, browser: Any
) -> None:
    page.goto(system.url + "/#/org")
    lead = page.locator(f'.org li[data-anima="{MANAGER}"]')
    lead.locator(f'li[data-anima="{RESEARCHER}"]').wait_for()  # ren sits under lead
    assert lead.locator('li[data-anima="yui"]').count() == 1
    assert lead.locator(".state").first.get_attribute("data-state") in {
        "idle",
        "thinking",
        "in_tool",
        "resting",
        "unknown",
    }
    page.locator("#live.on").wait_for()  # the live feed is connected
    page.screenshot(path=artifacts / "01-org.png", full_page=True)

    # A cycle of yui's shows on its card as it happens: the states the feed brought, in order.
    page.evaluate(
        """() => {
        window.__yuiStates = [];
        // Every badge put on yui's card, even when several came in one batch of the feed.
        new MutationObserver((records) => {
          for (const record of records) {
            if (!record.target.closest || !record.target.closest('li[data-anima="yui"]')) continue;
            for (const node of record.addedNodes) {
              const state = node.dataset && node.dataset.state;
              if (state && window.__yuiStates.at(-1) !== state) window.__yuiStates.push(state);
            }
          }
        }).observe(document.getElementById('view'), {subtree: true, childList: true});
      }"""
    )
    assert "I am yui" in system.chat("yui", "hello").json()["reply"]
    try:
        page.wait_for_function(
            "() => window.__yuiStates.includes('thinking') && window.__yuiStates.at(-1) === 'idle'"
        )
    except playwright_api.TimeoutError:
        seen = page.evaluate("[window.__yuiStates, document.getElementById('live').title]")
        raise AssertionError(f"yui's card showed {seen[0]} (live feed: {seen[1]})") from None

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        small = phone.new_page()
        small.goto(system.url + "/#/org")
        small.locator(f'.org li[data-anima="{RESEARCHER}"]').wait_for(timeout=TIMEOUT_MS)
        overflow = small.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        small.screenshot(path=artifacts / "01-org-phone.png", full_page=True)
        assert overflow <= 1, f"the chart is {overflow}px wider than a phone's screen"
    finally:
        phone.close()
    _no_script_errors(page)


def test_a_chat_reply_streams_in_with_its_tool_calls(
    page: Any, system: RunningSystem, artifacts: Path
) -> None:
    page.goto(system.url + "/#/org")
    page.locator(f'a[aria-label="Chat with {MANAGER}"]').focus()  # by keyboard, from the chart
    page.keyboard.press("Enter")
    box = page.locator("#chat-input")
    box.wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'chat-input'")
    # The conversation so far (the demo asked lead once already), from the thread's stored messages.
    page.locator(".bubble.past.mine", has_text=DEMO_TASK).first.wait_for()
    page.locator(".bubble.past:not(.mine)", has_text=f"From {RESEARCHER}:").first.wait_for()
    # Count the reply's text changes as they happen: a streamed reply changes more than once.
    page.evaluate(
        """() => {
        window.__replyChanges = 0;
        new MutationObserver((records) => {
          for (const r of records) {
            const bubble = r.target.closest && r.target.closest('.bubble.reply');
            if (bubble && bubble.dataset.state === 'streaming') window.__replyChanges += 1;
          }
        }).observe(
          document.getElementById('chat-log'), {subtree: true, childList: true, characterData: true}
        );
      }"""
    )
    page.keyboard.type(DEMO_TASK)
    page.keyboard.press("Enter")
    reply = page.locator(".bubble.reply").last
    page.wait_for_function(
        "() => { const b = [...document.querySelectorAll('.bubble.reply')].pop();"
        " return b && b.dataset.state !== 'streaming'; }"
    )
    page.screenshot(path=artifacts / "02-chat.png", full_page=True)
    assert reply.get_attribute("data-state") == "replied", reply.inner_text()
    assert f"From {RESEARCHER}: Customers like the guided first chat" in reply.locator(".text").inner_text()
    assert page.evaluate("window.__replyChanges") >= 2, "the reply did not stream in"
    # The delegation, as the live feed reported it while the cycle ran.
    reply.locator('.tools li[data-tool="delegate_task"]').wait_for()
    _no_script_errors(page)


def test_a_heartbeat_shows_in_the_open_timeline_without_a_reload(
    page: Any, system: RunningSystem, artifacts: Path
) -> None:
    page.goto(system.url + "/#/timeline")
    page.locator("#timeline .group-item").first.wait_for()
    page.evaluate("window.__sameDocument = true")
    fired = system.anima("trigger", MANAGER, "heartbeat").stdout
    found = _FIRED.search(fired)
    assert found, fired
    group = page.locator(f'details.group[data-correlation-id="{found.group(1)}"]')
    group.wait_for()
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    group.locator(":scope > summary").click()
    group.locator('li[data-type="heartbeat.due"]').wait_for()
    page.screenshot(path=artifacts / "03-timeline.png", full_page=True)
    _no_script_errors(page)


def test_a_cycle_opens_and_its_replay_matches(page: Any, system: RunningSystem, artifacts: Path) -> None:
    page.goto(system.url + f"/#/timeline?anima={MANAGER}&type=cycle.started")
    opener = page.locator("#timeline .group-item[data-cycle] a", has_text="Open cycle").first
    opener.wait_for(state="attached")
    cycle_id = opener.evaluate("a => a.closest('[data-cycle]').dataset.cycle")
    page.goto(system.url + f"/#/cycle/{cycle_id}")
    page.locator(f'#cycle-events li[data-type="cycle.started"][data-id="{cycle_id}"]').wait_for()
    page.locator("button.replay").click()
    verdict = page.locator("#replay-out .verdict")
    verdict.wait_for()
    page.screenshot(path=artifacts / "04-cycle-replay.png", full_page=True)
    assert verdict.get_attribute("data-matches") == "true", page.locator("#replay-out").inner_text()
    _no_script_errors(page)


def _view(page: Any, url: str, ready: str, artifacts: Path, shot: str) -> None:
    page.goto(url)
    page.locator(ready).first.wait_for()
    page.screenshot(path=artifacts / shot, full_page=True)
    problems = page.locator("main .notice.error")
    assert problems.count() == 0, problems.all_inner_texts()


def test_memory_tasks_schedules_and_dead_letters_render(
    page: Any, system: RunningSystem, artifacts: Path
) -> None:
    base = system.url
    _view(
        page, f"{base}/#/memory/{RESEARCHER}?path={MEMORY_PATH}", "#memory-file", artifacts, "05-memory.png"
    )
    assert "日本語のお客様" in page.locator("#memory-file").inner_text()  # Japanese, in the system's fonts
    page.locator('button[data-dir="knowledge"]').click()
    page.locator(f'a[data-path="{MEMORY_PATH}"]').wait_for()
    _view(
        page,
        f"{base}/#/memory/{RESEARCHER}?q=onboarding",
        "#memory-results, section p.muted",
        artifacts,
        "06-search.png",
    )
    correlation = page.evaluate(
        "() => fetch('/api/events?type=response.sent&anima=lead&order=desc&limit=1')"
        ".then(r => r.json()).then(b => b.items[0].correlation_id)"
    )
    _view(
        page,
        f"{base}/#/memory/{MANAGER}?priming={correlation}",
        "#priming article, #priming p.muted",
        artifacts,
        "07-priming.png",
    )
    _view(page, f"{base}/#/tasks", "#tasks tr[data-task]", artifacts, "08-tasks.png")
    tasks = page.locator("#tasks").inner_text()
    assert RESEARCHER in tasks and "done: Customers like the guided first chat" in tasks, tasks
    page.locator('button[data-board="general"]').click()  # every organization has the general board
    page.locator("h3", has_text="general").wait_for()
    _view(
        page,
        f"{base}/#/schedules",
        f'section[data-anima="{MANAGER}"] p.next',
        artifacts,
        "09-schedules.png",
    )
    lead = page.locator(f'section[data-anima="{MANAGER}"]')
    lead.locator(f'button[data-trigger="{MANAGER}:heartbeat"]').click()  # "trigger now", through the API
    lead.locator('[data-event-id]:not([data-event-id=""])').wait_for()
    _view(page, f"{base}/#/deadletters", "#deadletters tbody tr", artifacts, "10-deadletters.png")
    _no_script_errors(page)


def test_the_page_reads_server_sent_events_split_anywhere(page: Any, system: RunningSystem) -> None:
    frames = page.evaluate(
        """async () => {
        const { SseParser } = await import('/ui/api.js');
        const seen = [];
        const parser = new SseParser((f) => seen.push(f));
        const text = ': keep-alive\\n\\nid: 7\\nevent: activity\\ndata: {"seq": 7, "summary": "日本語"}\\n\\n'
          + 'event: delta\\r\\ndata: {"text": "a"}\\r\\n\\r\\n';
        const bytes = new TextEncoder().encode(text);
        // Five bytes at a time: frames, lines and a character of 日本語 all split across chunks.
        for (let i = 0; i < bytes.length; i += 5) parser.push(bytes.slice(i, i + 5));
        return seen;
      }"""
    )
    assert frames == [
        {"event": "activity", "data": {"seq": 7, "summary": "日本語"}, "id": "7"},
        {"event": "delta", "data": {"text": "a"}, "id": None},
    ]


def test_a_route_this_gateway_lacks_is_said_plainly(page: Any, system: RunningSystem) -> None:
    # As a gateway without the dead-letter route would answer (Starlette's plain 404).
    page.route("**/api/deadletters*", lambda route: route.fulfill(status=404, body="Not Found"))
    try:
        page.goto(
            system.url + "/#/org"
        )  # from elsewhere: going to the very same address renders nothing anew
        page.goto(system.url + "/#/deadletters")
        notice = page.locator("main .notice.error")
        notice.wait_for()
        text = notice.inner_text()
        assert "GET /api/deadletters" in text and "answered 404" in text, text
        assert "does not offer this part of the API" in text, text
    finally:
        page.unroute("**/api/deadletters*")
    _no_script_errors(page)


def test_the_chart_and_the_timeline_shape_their_data(page: Any, system: RunningSystem) -> None:
    shaped = page.evaluate(
        """async () => {
        const { forest } = await import('/ui/org.js');
        const { groupItems } = await import('/ui/timeline.js');
        const names = (list) => list.map((a) => a.name);
        const org = forest([
          {name: 'mgr', supervisor: null}, {name: 'b', supervisor: 'mgr'}, {name: 'a', supervisor: 'mgr'},
          {name: 'lost', supervisor: 'gone'}, {name: 'x', supervisor: 'y'}, {name: 'y', supervisor: 'x'},
        ]);
        const groups = groupItems([
          {seq: 1, correlation_id: 'c1'}, {seq: 2, correlation_id: 'c2'}, {seq: 3, correlation_id: 'c1'},
        ]);
        return {
          roots: names(org.roots),
          under: names(org.children.get('mgr')),
          groups: [...groups].map(([key, items]) => [key, items.map((i) => i.seq)]),
        };
      }"""
    )
    # An unknown supervisor makes a root; a loop of supervisors is shown from its first name.
    assert shaped == {
        "roots": ["lost", "mgr", "x"],
        "under": ["a", "b"],
        "groups": [["c1", [1, 3]], ["c2", [2]]],
    }


def test_a_view_left_while_loading_does_not_draw_over_the_next(page: Any, system: RunningSystem) -> None:
    held: list[Any] = []
    page.route("**/api/org", lambda route: held.append(route))  # the chart's data waits until released
    try:
        page.goto(system.url + "/#/deadletters")
        page.goto(system.url + "/#/org")
        for _ in range(100):  # Playwright hands the route over while it waits, not while Python sleeps
            if held:
                break
            page.wait_for_timeout(100)
        assert held, "the chart asked for no data"
        page.goto(system.url + "/#/deadletters")
        page.locator("#deadletters tbody tr").first.wait_for()
        with page.expect_response("**/api/org"):
            held[0].continue_()
        page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 200))")  # the chart would draw now
        assert page.locator("main .org").count() == 0, "the chart drew over the dead letters"
        assert page.locator("main .view-body").count() == 1
    finally:
        page.unroute("**/api/org")
    _no_script_errors(page)
