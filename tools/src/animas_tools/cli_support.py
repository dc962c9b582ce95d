"""What every ``anima`` command module shares: the home, a clean error exit, a NATS session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer
from nats.aio.client import Client

from animas_core.config import AnimaWorksConfig, ConfigError, parse_config, write_config
from animas_core.errors import RetryableError
from animas_core.home import Home, default_home
from animas_tools.config_sync import Applied, apply_config
from animas_tools.publish import NoAnswer
from animas_tools.system import NotRunning, SystemInfo, connect_admin


def home_of(home: Path | None) -> Home:
    """The AnimaWorks home named on the command line, else the default one."""
    return Home(home.expanduser() if home else default_home())


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def with_nats(home: Path | None, nats_url: str | None, work: Callable[[Client], Awaitable[None]]) -> None:
    """Run ``work`` on an operator connection; a system that is down or silent is a clean error."""

    async def run() -> None:
        nc = await connect_admin(home_of(home), nats_url)
        try:
            await work(nc)
        finally:
            await nc.close()

    try:
        asyncio.run(run())
    except (NotRunning, NoAnswer, RetryableError) as exc:
        raise fail(str(exc)) from None
    except (OSError, TimeoutError) as exc:
        raise fail(f"could not reach NATS: {exc!r}") from None


def read_config_json(path: Path) -> dict[str, Any]:
    """config.json as plain JSON, to change before validating (empty when there is none)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise fail(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise fail(f"{path}: the top level must be a JSON object")
    return data


def write_config_json(path: Path, data: dict[str, Any], *, home: Home | None = None) -> AnimaWorksConfig:
    """Validate the whole file, then write it (0600) and return it; nothing is written if it is invalid.

    With the ``home`` whose system is running, the change is also published to its ``CONFIG``
    bucket (secrets masked) and this waits until every service instance holds it.
    """
    try:
        config = parse_config(data)
    except ConfigError as exc:
        raise fail(f"{exc} (config.json left unchanged)") from None
    write_config(path, config)
    if home is not None and SystemInfo.read(home) is not None:
        publish_to_running(home, config)
    return config


def publish_to_running(home: Home, config: AnimaWorksConfig) -> None:
    """Publish ``config`` to the system's bucket and say which instances took it."""

    async def work(nc: Client) -> None:
        say_applied(await apply_config(nc.jetstream(), config))

    with_nats(home.root, None, work)


def say_applied(applied: Applied) -> None:
    """Tell the operator which running instances hold a published revision."""
    typer.echo(
        f"config revision {applied.revision}: taken by {len(applied.holding)} service instance(s)", err=True
    )
    if applied.behind:
        typer.echo(f"warning: not (yet) taken by {', '.join(applied.behind)}", err=True)
