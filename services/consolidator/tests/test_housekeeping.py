"""Housekeeping: the retention rules, and the daily stage that asks memory-writer to apply them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from animas_consolidator.domain.housekeeping import (
    conversation_cutoff,
    saved_session_day,
    saved_sessions_past_keeping,
    turns_before,
)
from animas_consolidator.domain.records import RunRef
from animas_consolidator.housekeeping import Housekeeping
from animas_consolidator.ports import OpOutcome
from animas_contracts import (
    ConsolidationDue,
    ConsolidationKind,
    ConversationTurn,
    DeleteSavedSession,
    MemoryOpRequested,
    TrimConversationArchive,
    TurnRole,
)
from animas_core.config import HousekeepingConfig
from animas_core.errors import RetryableError

DAY = date(2026, 4, 20)
TOKYO = ZoneInfo("Asia/Tokyo")


def _sessions(count: int) -> list[str]:
    """``count`` saved sessions, one a day from 2026-01-01, named as agent-runner names them."""
    return [
        f"{date.fromordinal(date(2026, 1, 1).toordinal() + i).strftime('%Y%m%d')}-cycle{i}-1.md"
        for i in range(count)
    ]


def test_the_newest_are_kept_and_the_oldest_go() -> None:
    names = _sessions(105)
    gone = saved_sessions_past_keeping(reversed(names), 100)
    assert gone == names[:5]


def test_nothing_goes_while_there_are_no_more_than_kept() -> None:
    assert saved_sessions_past_keeping(_sessions(100), 100) == []
    assert saved_sessions_past_keeping([], 100) == []


def test_keep_zero_deletes_every_dated_session() -> None:
    assert saved_sessions_past_keeping(_sessions(3), 0) == _sessions(3)


def test_sessions_of_one_day_are_ordered_by_name() -> None:
    names = ["20260105-b-1.md", "20260105-a-1.md", "20260104-z-2.md"]
    assert saved_sessions_past_keeping(names, 1) == ["20260104-z-2.md", "20260105-a-1.md"]


def test_an_undated_file_is_never_deleted_nor_counted() -> None:
    names = ["notes.md", "handwritten-2026.md", *_sessions(2)]
    assert saved_sessions_past_keeping(names, 1) == _sessions(1)


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("20260105-c-1.md", date(2026, 1, 5)),
        ("2026-01-05-c-1.md", date(2026, 1, 5)),
        ("20261305-c-1.md", None),  # no 13th month
        ("20260105-c-1.txt", None),
        ("notes.md", None),
    ],
)
def test_the_day_of_a_saved_session(name: str, day: date | None) -> None:
    assert saved_session_day(name) == day


def test_the_cutoff_is_the_start_of_the_day_in_the_anima_zone() -> None:
    cutoff = conversation_cutoff(DAY, TOKYO, 30)
    assert cutoff == datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # 2026-03-21 00:00 in Tokyo
    assert cutoff is not None and cutoff.utcoffset() is not None


def test_zero_days_keeps_conversation_archives_for_good() -> None:
    assert conversation_cutoff(DAY, TOKYO, 0) is None


def _archive(*stamps: datetime) -> str:
    turns = [
        ConversationTurn(id=f"t{i}", role=TurnRole.USER, text="hi", ts=ts) for i, ts in enumerate(stamps)
    ]
    return "".join(msgspec.json.encode(t).decode() + "\n" for t in turns) + "not a turn\n"


def test_turns_before_counts_only_dated_turns_older_than_the_cutoff() -> None:
    text = _archive(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert turns_before(text, datetime(2026, 1, 1, tzinfo=UTC)) == 1
    assert turns_before(text, datetime(2024, 1, 1, tzinfo=UTC)) == 0


@dataclasses.dataclass
class Anima:
    """Listings, file texts and memory-writer's answer."""

    folders: dict[str, list[str]]
    texts: dict[str, str]
    answer: OpOutcome = dataclasses.field(default_factory=lambda: OpOutcome(applied=True, first_time=True))
    requested: list[MemoryOpRequested] = dataclasses.field(default_factory=list)

    async def read(self, anima: str, path: str) -> str | None:
        return self.texts.get(path)

    async def listing(self, anima: str, path: str) -> list[str]:
        return self.folders.get(path, [])

    async def tree(self, anima: str) -> dict[str, str]:
        return {}

    async def apply(self, request: Any) -> OpOutcome:
        # Any: the port also carries other requests (identity revisions); housekeeping asks only these.
        assert isinstance(request, MemoryOpRequested)
        self.requested.append(request)
        return self.answer


def _ref() -> RunRef:
    due = ConsolidationDue(
        id="run-1",
        anima="clerk",
        correlation_id="run-1",
        producer="cli",
        kind=ConsolidationKind.DAILY,
        fire_at=datetime(2026, 4, 21, 2, 0, tzinfo=UTC),
        date=DAY.isoformat(),
    )
    return RunRef(due, DAY.isoformat())


def _anima() -> Anima:
    old, recent = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 4, 19, tzinfo=UTC)
    return Anima(
        folders={
            "shortterm/archive/": _sessions(103),
            "state/conversations/": ["boss.json", "boss.archive.jsonl", "new.archive.jsonl"],
        },
        texts={
            "state/conversations/boss.archive.jsonl": _archive(old, recent),
            "state/conversations/new.archive.jsonl": _archive(recent),
        },
    )


async def test_the_stage_deletes_past_keeping_and_trims_old_turns() -> None:
    anima = _anima()
    outcome = await Housekeeping(anima, anima).run(_ref(), DAY, TOKYO, HousekeepingConfig())
    ops = [r.op for r in anima.requested]
    assert ops[:3] == [
        DeleteSavedSession(
            path=f"shortterm/archive/{n}", reason="retention keeps the newest 100 saved sessions"
        )
        for n in _sessions(3)
    ]
    cutoff = datetime(2025, 4, 20, tzinfo=TOKYO).astimezone(UTC)
    assert ops[3:] == [TrimConversationArchive(path="state/conversations/boss.archive.jsonl", before=cutoff)]
    assert outcome.deleted == [f"shortterm/archive/{n}" for n in _sessions(3)]
    assert outcome.trimmed == ["state/conversations/boss.archive.jsonl"]
    assert outcome.refused == []


async def test_a_redelivered_run_asks_under_the_same_ids() -> None:
    first, second = _anima(), _anima()
    await Housekeeping(first, first).run(_ref(), DAY, TOKYO, HousekeepingConfig())
    await Housekeeping(second, second).run(_ref(), DAY, TOKYO, HousekeepingConfig())
    ids = [r.id for r in first.requested]
    assert ids == [r.id for r in second.requested]
    assert len(set(ids)) == len(ids)
    assert all(r.anima == "clerk" and r.causation_id == "run-1" for r in first.requested)


async def test_refusals_are_reported_and_unconfirmed_ops_retry_the_run() -> None:
    anima = _anima()
    anima.answer = OpOutcome(applied=False, reason="shortterm/archive/x.md does not exist")
    config = HousekeepingConfig(conversation_archive_days=0)
    outcome = await Housekeeping(anima, anima).run(_ref(), DAY, TOKYO, config)
    assert outcome.deleted == []
    assert len(outcome.refused) == 3 and "does not exist" in outcome.refused[0]
    anima.answer = OpOutcome(applied=None)
    with pytest.raises(RetryableError, match="not confirmed"):
        await Housekeeping(anima, anima).run(_ref(), DAY, TOKYO, config)


async def test_an_archive_that_cannot_be_read_is_trimmed_all_the_same() -> None:
    anima = _anima()
    anima.folders["shortterm/archive/"] = []
    del anima.texts["state/conversations/boss.archive.jsonl"]  # too large for a read reply
    outcome = await Housekeeping(anima, anima).run(_ref(), DAY, TOKYO, HousekeepingConfig())
    assert outcome.trimmed == ["state/conversations/boss.archive.jsonl"]
