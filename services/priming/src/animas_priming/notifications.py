"""Pending notifications to people (seed 004): what the anima asked to tell them in the last 24 hours.

Read from the anima's activity log (``activity_log/<day>.jsonl``, through memory-writer), where
memory-writer records ``human_notify`` entries for ``human.notify.requested``, ``human.notified``
and ``human.notify.failed``. Primed only for chats, messages from other animas and heartbeats
(seed 004: not for cron or tasks), so the anima neither asks twice nor forgets one that failed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from animas_priming.domain.budget import TokenCounter, fit
from animas_priming.domain.sections import format_section

CHANNEL = "N"
"""Its key in the priming reply (after channels A–F; agent-runner puts it with the others)."""
TRIGGERS = frozenset({"message", "heartbeat"})
"""Triggers that prime it: a chat or another anima's message, and a heartbeat."""
WINDOW = timedelta(hours=24)
BUDGET_TOKENS = 500
TITLE = "Notifications to people in the last 24 hours (already sent: do not send them again)"

ReadFile = Callable[[str, str], Awaitable[str | None]]


def _is_notification(entry: dict[str, object]) -> bool:
    meta = entry.get("meta")
    event_type = meta.get("event_type") if isinstance(meta, dict) else None
    return entry.get("type") == "human_notify" or (
        isinstance(event_type, str) and event_type.startswith("human.notif")
    )


def _when(entry: dict[str, object]) -> datetime | None:
    try:
        ts = datetime.fromisoformat(str(entry.get("ts")))
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def _line(entry: dict[str, object], when: datetime) -> str:
    meta = entry.get("meta")
    event_type = meta.get("event_type", "") if isinstance(meta, dict) else ""
    what = {"human.notified": "delivered", "human.notify.failed": "FAILED"}.get(str(event_type), "asked")
    text = entry.get("summary") or entry.get("content") or ""
    channel = entry.get("channel") or entry.get("to")
    where = f" via {channel}" if channel else ""
    return f"- {when.strftime('%Y-%m-%d %H:%M')} {what}{where}: {text}".rstrip(": ")


async def pending_notifications(
    read: ReadFile, anima: str, trigger: str, now: datetime, counter: TokenCounter
) -> str:
    """The section, newest first within :data:`BUDGET_TOKENS`; empty for other triggers or none."""
    if trigger not in TRIGGERS:
        return ""
    # Log files are named by the anima's local day: read the UTC days around now to cover any zone.
    days = sorted({(now + timedelta(days=d)).date() for d in (-1, 0, 1)})
    found: list[tuple[datetime, str]] = []
    for day in days:
        text = await read(anima, f"activity_log/{day.isoformat()}.jsonl")
        for raw in (text or "").splitlines():
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if not isinstance(entry, dict) or not _is_notification(entry):
                continue
            when = _when(entry)
            if when is not None and timedelta(0) <= now - when <= WINDOW:
                found.append((when, _line(entry, when)))
    found.sort(key=lambda item: item[0], reverse=True)
    lines, _ = fit([line for _, line in found], BUDGET_TOKENS, counter)
    return format_section(TITLE, lines) if lines else ""
