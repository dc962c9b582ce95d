"""The pure forgetting rules: protections, downscaling marks, complete forgetting (seed 004)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from animas_consolidator.domain.forgetting import (
    ForgettingRules,
    Memory,
    downscale,
    low_activity,
    low_since,
    protection,
    to_forget,
)
from animas_contracts import LowActivityMark, MetaRecord
from animas_core.config_model import ConsolidationConfig

WRITTEN = date(2026, 1, 10)
RULES = ForgettingRules()


def _memory(
    path: str = "knowledge/printer.md",
    body: str = "The printer jams on A3.",
    *,
    fields: dict[str, str] | None = None,
    **meta: object,
) -> Memory:
    header = {"created": f"{WRITTEN.isoformat()}T09:00:00+00:00", **(fields or {})}
    text = "---\n" + "".join(f"{k}: {v}\n" for k, v in header.items()) + "---\n\n" + body + "\n"
    return Memory(path=path, text=text, meta=MetaRecord(path=path, **meta))  # type: ignore[arg-type]


def _after(days: int) -> date:
    return WRITTEN + timedelta(days=days)


def test_the_thresholds_come_from_the_consolidation_config() -> None:
    config = ConsolidationConfig(
        downscale_idle_days=7, forgetting_low_activation_days=20, forgetting_max_access_count=1
    )
    rules = ForgettingRules.of(config)
    assert (rules.downscale_idle_days, rules.low_activation_days, rules.max_access_count) == (7, 20, 1)
    assert ForgettingRules.of(ConsolidationConfig()) == RULES


def test_an_unused_knowledge_chunk_is_forgotten_after_ninety_days_low_and_not_before() -> None:
    unused = _memory()
    assert to_forget([unused], _after(89), RULES) == []
    (forget,) = to_forget([unused], _after(100), RULES)
    assert forget.path == "knowledge/printer.md" and forget.low_since == WRITTEN
    assert "low activity for 100 days" in forget.reason and "0 accesses (fewer than 3)" in forget.reason


@pytest.mark.parametrize(
    ("memory", "why"),
    [
        (_memory(body="- [IMPORTANT] Never reboot the router."), "marked [IMPORTANT]"),
        (_memory(importance="important"), "marked [IMPORTANT]"),
        (_memory(success_count=2), "knowledge that helped 2 times"),
        (_memory(fields={"success_count": "2"}), "knowledge that helped 2 times"),
        (_memory("procedures/deploy.md", fields={"version": "3"}), "a procedure at version 3"),
        (_memory("procedures/deploy.md", fields={"protected": "true"}), "a procedure marked protected: true"),
        (_memory("skills/email.md"), "only knowledge and procedures are forgotten"),
        (_memory("shared/users/tanaka.md"), "only knowledge and procedures are forgotten"),
        (_memory("episodes/2026-01-10.md"), "only knowledge and procedures are forgotten"),
    ],
)
def test_protected_memories_are_never_low_nor_forgotten(memory: Memory, why: str) -> None:
    assert protection(memory) == why
    assert low_since(memory, _after(1000), RULES) is None
    assert to_forget([memory], _after(1000), RULES) == []


def test_knowledge_with_one_success_or_a_procedure_at_version_two_is_not_protected() -> None:
    assert protection(_memory(success_count=1)) is None
    assert protection(_memory("procedures/deploy.md", fields={"version": "2"})) is None


def test_enough_accesses_keep_a_chunk_alive_however_old_it_is() -> None:
    used = _memory(access_count=3, last_access=f"{WRITTEN.isoformat()}T10:00:00+00:00")
    assert to_forget([used], _after(400), RULES) == []
    assert len(to_forget([_memory(access_count=2)], _after(400), RULES)) == 1


def test_a_recent_recall_or_rewrite_restarts_the_clock() -> None:
    recalled = _memory(access_count=1, last_access=f"{_after(50).isoformat()}T08:00:00+00:00")
    assert to_forget([recalled], _after(100), RULES) == []
    assert low_since(recalled, _after(100), RULES) == _after(50)
    rewritten = _memory(fields={"updated": f"{_after(95).isoformat()}T08:00:00+00:00"})
    assert low_since(rewritten, _after(100), RULES) is None


def test_downscaling_marks_a_chunk_once_and_remarks_it_after_a_later_recall() -> None:
    unused = _memory()
    assert downscale([unused], _after(29), RULES) == []
    assert downscale([unused], _after(30), RULES) == [
        LowActivityMark(path="knowledge/printer.md", since=WRITTEN.isoformat())
    ]
    marked = _memory(low_since=WRITTEN.isoformat())
    assert downscale([marked], _after(31), RULES) == []
    later = _memory(
        low_since=WRITTEN.isoformat(), access_count=1, last_access=f"{_after(40).isoformat()}T08:00:00+00:00"
    )
    assert downscale([later], _after(80), RULES) == [
        LowActivityMark(path="knowledge/printer.md", since=_after(40).isoformat())
    ]


def test_a_file_that_says_nothing_of_its_age_is_low_from_the_day_it_is_first_found_low() -> None:
    bare = Memory(path="knowledge/bare.md", text="# Bare\n", meta=MetaRecord(path="knowledge/bare.md"))
    assert downscale([bare], _after(0), RULES) == [
        LowActivityMark(path="knowledge/bare.md", since=_after(0).isoformat())
    ]
    assert to_forget([bare], _after(0), RULES) == []
    marked = Memory(
        path=bare.path, text=bare.text, meta=MetaRecord(path=bare.path, low_since=_after(0).isoformat())
    )
    assert to_forget([marked], _after(89), RULES) == []
    assert [f.path for f in to_forget([marked], _after(90), RULES)] == ["knowledge/bare.md"]


def test_procedures_are_downscaled_only_after_their_own_longer_inactivity() -> None:
    procedure = _memory("procedures/deploy.md", fields={"version": "1"})
    assert low_since(procedure, _after(179), RULES) is None
    assert low_since(procedure, _after(180), RULES) == WRITTEN
    assert [f.path for f in to_forget([procedure], _after(180), RULES)] == ["procedures/deploy.md"]


def test_low_activity_lists_what_weekly_reorganisation_may_merge() -> None:
    unused, used, important = (
        _memory(),
        _memory("knowledge/b.md", access_count=5),
        _memory(importance="important"),
    )
    assert low_activity([unused, used, important], _after(45), RULES) == [unused]


def test_garbage_dates_and_counts_in_frontmatter_are_ignored_not_fatal() -> None:
    odd = Memory(
        path="knowledge/odd.md",
        text="---\ncreated: yesterday\nsuccess_count: many\n---\n\nbody\n",
        meta=MetaRecord(path="knowledge/odd.md", last_access="not a time"),
    )
    assert protection(odd) is None
    assert low_since(odd, _after(5), RULES) == _after(5)
