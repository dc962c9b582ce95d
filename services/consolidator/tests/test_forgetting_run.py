"""The forgetting stage of a daily run: marks, archive operations, tombstones, derived ids."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from animas_consolidator.domain.records import RunRef
from animas_consolidator.forgetting import Forgetting
from animas_consolidator.ports import OpOutcome
from animas_contracts import (
    ArchiveMemory,
    ConsolidationDue,
    ConsolidationKind,
    Event,
    ForgettingDownscaled,
    IdentityRevised,
    MemoryForgotten,
    MemoryOpRequested,
    MetaRecord,
)
from animas_core.config_model import ConsolidationConfig
from animas_core.errors import RetryableError

OLD = "---\ncreated: 2026-01-05T09:00:00+00:00\n---\n\n"
DAY = date(2026, 4, 20)  # 105 days after OLD
FILES = {
    "knowledge/printer.md": OLD + "The printer jams on A3.\n",
    "knowledge/router.md": OLD + "- [IMPORTANT] Never reboot the router.\n",
    "knowledge/used.md": OLD + "Used often.\n",
    "knowledge/recent.md": "---\ncreated: 2026-04-01T09:00:00+00:00\n---\n\nNew.\n",
    "skills/email.md": OLD + "A skill.\n",
    "episodes/2026-01-05.md": "# 2026-01-05 Action Log\n",
}


@dataclasses.dataclass
class Anima:
    """Files, statistics, the bus and memory-writer's answers."""

    files: dict[str, str]
    stats: list[MetaRecord]
    answer: OpOutcome = dataclasses.field(default_factory=lambda: OpOutcome(applied=True, first_time=True))
    published: list[Event] = dataclasses.field(default_factory=list)
    requested: list[MemoryOpRequested] = dataclasses.field(default_factory=list)

    async def read(self, anima: str, path: str) -> str | None:
        return self.files.get(path)

    async def tree(self, anima: str) -> dict[str, str]:
        return {p: "" for p in self.files}

    async def stats_of(self, anima: str) -> list[MetaRecord]:
        return self.stats

    async def publish(self, event: Event) -> None:
        self.published.append(event)

    async def apply(self, request: MemoryOpRequested | IdentityRevised) -> OpOutcome:
        assert isinstance(request, MemoryOpRequested), "forgetting never revises identity"
        self.requested.append(request)
        return self.answer


class Files:
    def __init__(self, anima: Anima) -> None:
        self.read, self.tree, self.stats = anima.read, anima.tree, anima.stats_of


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


def _anima(**kwargs: object) -> Anima:
    stats = [MetaRecord(path="knowledge/used.md", access_count=5, last_access="2026-01-06T10:00:00+00:00")]
    return Anima(files=dict(FILES), stats=stats, **kwargs)  # type: ignore[arg-type]


async def test_the_unused_chunk_is_marked_archived_and_given_a_tombstone() -> None:
    anima = _anima()
    outcome = await Forgetting(Files(anima), anima, anima).run(_ref(), DAY, ConsolidationConfig())
    assert outcome.marked == ["knowledge/printer.md"] and outcome.forgotten == ["knowledge/printer.md"]
    (request,) = anima.requested
    assert request.op == ArchiveMemory(path="knowledge/printer.md") and request.producer == "consolidator"
    downscaled, tombstone = anima.published
    assert isinstance(downscaled, ForgettingDownscaled) and downscaled.date == DAY.isoformat()
    assert [(m.path, m.since) for m in downscaled.marks] == [("knowledge/printer.md", "2026-01-05")]
    assert isinstance(tombstone, MemoryForgotten)
    assert tombstone.archived_to == "archive/knowledge/printer.md" and tombstone.causation_id == "run-1"
    assert tombstone.reason.startswith("low activity for 105 days (since 2026-01-05")

    # The same run again (a redelivery) asks under the same ids: JetStream and memory-writer drop them.
    again = _anima()
    await Forgetting(Files(again), again, again).run(_ref(), DAY, ConsolidationConfig())
    assert [e.id for e in again.published] == [e.id for e in anima.published]
    assert [r.id for r in again.requested] == [r.id for r in anima.requested]


async def test_a_refused_archive_has_no_tombstone_and_says_why() -> None:
    anima = _anima(answer=OpOutcome(applied=False, reason="archive/knowledge/printer.md already exists"))
    outcome = await Forgetting(Files(anima), anima, anima).run(_ref(), DAY, ConsolidationConfig())
    assert outcome.forgotten == []
    assert outcome.refused == [
        "forget knowledge/printer.md: memory-writer refused: archive/knowledge/printer.md already exists"
    ]
    assert not [e for e in anima.published if isinstance(e, MemoryForgotten)]


async def test_an_unconfirmed_archive_retries_the_run() -> None:
    anima = _anima(answer=OpOutcome(applied=None))
    with pytest.raises(RetryableError, match=r"has not confirmed forgetting knowledge/printer\.md"):
        await Forgetting(Files(anima), anima, anima).run(_ref(), DAY, ConsolidationConfig())


async def test_low_activity_is_what_weekly_reorganisation_may_merge() -> None:
    anima = _anima()
    low = await Forgetting(Files(anima), anima, anima).low_activity("clerk", DAY, ConsolidationConfig())
    assert [m.path for m in low] == ["knowledge/printer.md"]
    assert anima.published == [] and anima.requested == []
