"""``anima demo``: a small organization at work, on a fresh home, with a scripted model (no API key).

The organization is a manager (``lead``) and two specialists reporting to it (``ren``, a
researcher, and ``yui``, a writer). Every anima talks to a scripted model served from this
process, which answers by rule: asked for the onboarding brief, ``lead`` delegates the research
to ``ren`` and waits; ``ren`` writes what it found to its knowledge (a memory file) and answers;
``lead``'s reply integrates ``ren``'s report. The demo starts the system as ``anima up`` does,
creates the animas, sends that request, fires ``lead``'s heartbeat, and prints (and opens) the
web UI, where the chart, the timeline, the task and ``ren``'s new memory can be seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import tempfile
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from nats.aio.client import Client

from animas_contracts import MemoryOpApplied
from animas_core.anima_files import AnimaSpec, template_files
from animas_core.config import ConfigError, load_config
from animas_core.home import Home
from animas_core.schedules.manual import TriggerKind, due_event
from animas_tools.animas_cli import creation_event
from animas_tools.cli_support import fail
from animas_tools.nats_server import NatsServerError
from animas_tools.publish import publish_change
from animas_tools.schedule_cli import publish_event
from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn
from animas_tools.system import SystemInfo, connect_admin
from animas_tools.up import AlreadyRunning, run_up

MANAGER = "lead"
RESEARCHER = "ren"
WRITER = "yui"


@dataclass(frozen=True)
class Member:
    """One anima of the demo organization."""

    name: str
    template: str
    supervisor: str | None


ORGANIZATION = (
    Member(MANAGER, "manager", None),
    Member(RESEARCHER, "researcher", MANAGER),
    Member(WRITER, "writer", MANAGER),
)
DEMO_TASK = "Please prepare a short brief on what customers say about onboarding."
INSTRUCTION = "Collect what customers say about onboarding and report the main points."
MEMORY_PATH = "knowledge/onboarding-feedback.md"
MEMORY_TEXT = (
    "# Onboarding feedback\n\n"
    "- Customers like the guided first chat.\n"
    "- Setting up a model key is the step where most of them stop.\n"
    "- 日本語のお客様: 説明が分かりやすいという声が多い。\n"
)
FINDINGS = "Customers like the guided first chat; the model-key step is where most of them stop."
GREETING = "Hello! I am {name}. Ask me for the onboarding brief and I will get my team on it."
HEARTBEAT_NOTE = "Heartbeat: the team is on track; nothing needs me right now."

SAMPLE_HINT = "try: curl"
"""How ``anima up`` starts its hint to chat with the sample anima, which the demo does not create."""
_NAME = re.compile(r"You are ([a-z][a-z0-9_-]*), an anima")
SCRIPTED_MODEL = "openai/scripted"
CREDENTIAL = "scripted"


def demo_config(openai_base: str) -> dict[str, Any]:
    """config.json for the demo: every anima on the scripted model (its key is not a secret)."""
    return {
        "version": 1,
        "credentials": {CREDENTIAL: {"api_key": "scripted-demo-key", "base_url": openai_base}},
        "anima_defaults": {"model": SCRIPTED_MODEL, "credential": CREDENTIAL},
        "animas": {member.name: {} for member in ORGANIZATION},
    }


def _content(message: Mapping[str, Any]) -> str:
    value = message.get("content")
    return value if isinstance(value, str) else json.dumps(value)


def _wake_and_results(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The message that woke the anima, and the tool results its cycle has had since."""
    messages = list(body.get("messages", []))
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    woke = _content(messages[last]) if last >= 0 else ""
    return woke, [_content(m) for m in messages[last + 1 :] if m.get("role") == "tool"]


def _report_text(results: list[str]) -> str:
    """What the specialist reported, as the waiting ``delegate_task`` returned it."""
    for result in reversed(results):
        if f"Report from {RESEARCHER}" in result:
            return result.split(":\n", 1)[-1].strip()
    return results[-1].strip() if results else ""


def demo_responder(body: Mapping[str, Any]) -> Turn:
    """The scripted model of every demo anima, by rule: who asks, what woke it, what its tools said."""
    woke, results = _wake_and_results(body)
    found = _NAME.search(json.dumps(body))
    name = found.group(1) if found else ""
    if INSTRUCTION in woke:  # the specialist's task cycle (its prompt is the task's own)
        if not results:
            return Turn(
                text="Let me note what I found.",
                tool_calls=[
                    ScriptedToolCall(
                        name="write_memory_file", arguments={"path": MEMORY_PATH, "content": MEMORY_TEXT}
                    )
                ],
            )
        return Turn(text=FINDINGS)
    if name == MANAGER and DEMO_TASK in woke:
        if not results:
            return Turn(
                text=f"I will ask {RESEARCHER} to research this.",
                tool_calls=[
                    ScriptedToolCall(
                        name="delegate_task",
                        arguments={
                            "to": RESEARCHER,
                            "instruction": INSTRUCTION,
                            "wait": True,
                            "wait_timeout_s": 120,
                        },
                    )
                ],
            )
        return Turn(text=f"Here is the onboarding brief. From {RESEARCHER}: {_report_text(results)}")
    if woke.startswith("Heartbeat."):
        return Turn(text=HEARTBEAT_NOTE)
    if name:
        return Turn(text=GREETING.format(name=name))
    return Turn(text="OK.")


async def create_organization(nc: Client, say: Callable[[str], None]) -> None:
    """Create the demo's animas (each by an ``anima.created`` event, as ``anima create`` does)."""
    for member in ORGANIZATION:
        spec = AnimaSpec(name=member.name, role=member.template, supervisor=member.supervisor)
        event = creation_event(
            member.name, template_files(spec, member.template), f"template:{member.template}"
        )
        answer = await publish_change(nc, event)
        if not isinstance(answer, MemoryOpApplied):
            raise RuntimeError(f"could not create {member.name}: {answer.reason}")
        boss = f", reporting to {member.supervisor}" if member.supervisor else ""
        say(f"created {member.name} ({member.template}{boss})")


async def _wait_for_system(home: Home, up: asyncio.Task[int], timeout_s: float) -> SystemInfo:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (info := SystemInfo.read(home)) is None or info.gateway_url is None:
        if up.done():
            raise RuntimeError("the system stopped before it was ready")
        if loop.time() > deadline:
            raise RuntimeError(f"the system was not ready after {timeout_s:g}s")
        await asyncio.sleep(0.2)
    return info


async def stage(home: Home, up: asyncio.Task[int], say: Callable[[str], None], *, open_browser: bool) -> str:
    """Once the system is up: the organization, the request, the heartbeat; returns the UI's address."""
    info = await _wait_for_system(home, up, 180.0)
    assert info.gateway_url is not None
    nc = await connect_admin(home, None)
    try:
        await create_organization(nc, say)
        say(f"asking {MANAGER}: {DEMO_TASK}")
        async with httpx.AsyncClient(timeout=180.0) as client:
            answer = await client.post(
                f"{info.gateway_url}/api/animas/{MANAGER}/chat", json={"message": DEMO_TASK}
            )
        body = answer.json()
        say(f"{MANAGER} answered: {body.get('reply') or body.get('detail') or body}")
        heartbeat = due_event(MANAGER, TriggerKind.HEARTBEAT, None, datetime.now(UTC))
        await publish_event(nc, heartbeat)
        say(f"fired {MANAGER}'s heartbeat ({heartbeat.id})")
    finally:
        await nc.close()
    url = f"{info.gateway_url}/#/org"
    say(f"{RESEARCHER} wrote {MEMORY_PATH}: see {info.gateway_url}/#/memory/{RESEARCHER}?path={MEMORY_PATH}")
    say(f"AnimaWorks demo is ready: {url}")
    say(f"(home: {home.root}; e.g. `anima events --home {home.root}`; Ctrl-C stops the demo)")
    if open_browser:
        with contextlib.suppress(webbrowser.Error):
            await asyncio.to_thread(webbrowser.open, url)
    return url


def can_open_browser(display: str | None, platform: str) -> bool:
    """Whether a graphical browser can open.

    Without a display, Python's ``webbrowser`` would start a text browser (lynx, w3m) in this
    terminal, over the demo's output; there the address is printed only.
    """
    return platform in ("darwin", "win32") or bool(display)


async def run_demo(home: Home, *, port: int, open_browser: bool, say: Callable[[str], None]) -> int:
    """Run the demo until Ctrl-C; the exit code of the system."""
    if home.config_file.exists():
        raise ConfigError(
            f"{home.root} is not a fresh home (it has {home.config_file.name}); pass an empty --home"
        )
    with ScriptedLLM() as llm:
        llm.respond_with(demo_responder)
        home.root.mkdir(parents=True, exist_ok=True)
        home.config_file.write_text(json.dumps(demo_config(llm.openai_base), indent=2), encoding="utf-8")
        os.chmod(home.config_file, 0o600)
        load_config(home.config_file)
        say(f"scripted model at {llm.openai_base} (no API key needed)")
        up = asyncio.create_task(
            run_up(
                home,
                nats_url=None,
                gateway_host="127.0.0.1",
                gateway_port=port,
                ready_timeout_s=120.0,
                say=lambda line: None if line.startswith(SAMPLE_HINT) else say(line),
                local_model=False,
            )
        )
        staged = asyncio.create_task(stage(home, up, say, open_browser=open_browser))
        await asyncio.wait({up, staged}, return_when=asyncio.FIRST_COMPLETED)
        if staged.done() and staged.exception() is not None:
            say(f"the demo failed: {staged.exception()}")
            up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await up
            return 1
        code = await up
        if not staged.done():
            staged.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await staged
        return code


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``anima`` app."""

    @app.command()
    def demo(
        home: Annotated[
            Path | None,
            typer.Option("--home", help="An empty folder for the demo (default: a new temporary one)"),
        ] = None,
        port: Annotated[int, typer.Option(help="Gateway port (0, the default, picks a free one)")] = 0,
        open_browser: Annotated[
            bool,
            typer.Option("--open/--no-open", help="Open the web UI in a browser (when there is a display)"),
        ] = True,
        display: Annotated[
            str | None,
            typer.Option(envvar=["DISPLAY", "WAYLAND_DISPLAY"], hidden=True, help="The X or Wayland display"),
        ] = None,
    ) -> None:
        """Start a demo organization (a manager and two specialists on a scripted model) and open the UI."""
        root = home.expanduser() if home else Path(tempfile.mkdtemp(prefix="animaworks-demo-"))
        try:
            code = asyncio.run(
                run_demo(
                    Home(root),
                    port=port,
                    open_browser=open_browser and can_open_browser(display, sys.platform),
                    say=typer.echo,
                )
            )
        except (AlreadyRunning, ConfigError, NatsServerError) as exc:
            raise fail(str(exc)) from None
        raise typer.Exit(code)
