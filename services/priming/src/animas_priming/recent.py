"""Channel B: what the anima did lately, from its activity log, in the anima's own day.

memory-writer names each log file by the day in the anima's time zone, so "today" here is that
day too: at 20:00 UTC it is already tomorrow in Tokyo, and the UTC date would read yesterday's file
as today's and miss the newest entries.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from animas_core.config import AnimaWorksConfig
from animas_core.schedules.anima_zone import anima_zone
from animas_priming.channels import Section, section
from animas_priming.domain.budget import TokenCounter, fit
from animas_priming.domain.privacy import Viewer, shared_entries

ReadFile = Callable[[str, str], Awaitable[str | None]]

QUIET_ACTIVITY = {
    "cycle_start",
    "cycle_end",
    "llm_call",
    "memory_write",
    "heartbeat_start",
    "heartbeat_end",
    "background_result",
    "background_delivered",
}
"""Activity-log entries that say nothing to the anima about what happened (bookkeeping).

Background results are the task channel's, shown once there (animas_priming.background)."""
RECENT_ENTRIES = 20


async def recent_activity(
    read: ReadFile,
    anima: str,
    *,
    now: datetime,
    config: AnimaWorksConfig,
    viewer: Viewer,
    budget: int,
    counter: TokenCounter,
) -> Section:
    """The newest telling entries of yesterday's and today's logs (the anima's days), newest first."""
    status = _json_object(await read(anima, "status.json"))
    zone, _ = anima_zone(anima, status, config)
    today = now.astimezone(zone).date()
    entries: list[dict[str, object]] = []
    for day in (today - timedelta(days=1), today):
        for line in (await read(anima, f"activity_log/{day.isoformat()}.jsonl") or "").splitlines():
            entry = _json_object(line)
            if entry:
                entries.append(entry)
    telling = [e for e in entries if e.get("type") not in QUIET_ACTIVITY]
    shown = shared_entries(telling, viewer)[-RECENT_ENTRIES:]
    lines, used = fit([activity_line(e) for e in reversed(shown)], budget, counter)
    return section("Recent activity", lines, used, counter)


def activity_line(entry: dict[str, object]) -> str:
    """One log entry as a list item: time, type, who, summary."""
    ts = str(entry.get("ts", ""))[11:16]
    who = entry.get("from") or entry.get("to") or ""
    return f"- {ts} {entry.get('type')} {who}: {entry.get('summary', '')}".replace("  ", " ")


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
