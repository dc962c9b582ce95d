"""One weekly consolidation run: read the week and the knowledge, plan, then let the run frame apply it.

Weekly consolidation merges knowledge duplicates (and low-activity knowledge alike at a lower
threshold), distils actions repeated in the week into one routine procedure each and replaces
old episode files by summaries (the originals archived). The
summaries are the anima's model's when it has a capable one (its JSON answer validated), else
alike entries are collapsed deterministically; merges and routines are always deterministic
(:mod:`animas_consolidator.domain.weekly_plan`). The run frame records the plan before applying
it, so a run killed at any point applies each decision once, whatever the model would say now.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from typing import Protocol

from animas_consolidator.domain.citations import KNOWLEDGE
from animas_consolidator.domain.compression import compressible
from animas_consolidator.domain.decisions import InvalidAnswer
from animas_consolidator.domain.episodes import Entry
from animas_consolidator.domain.forgetting import Memory
from animas_consolidator.domain.model_choice import ModelTarget, choose_model
from animas_consolidator.domain.procedures import PROCEDURES
from animas_consolidator.domain.records import planned
from animas_consolidator.domain.sources import EPISODES, episode_path
from animas_consolidator.domain.summary_prompt import SummaryGroup, parse_summary_answer, summary_messages
from animas_consolidator.domain.weekly_plan import (
    ARCHIVE,
    WeeklySettings,
    episode_day,
    is_old,
    week_days,
    week_lines,
    weekly_plan,
)
from animas_consolidator.model_call import ask_recorded
from animas_consolidator.ports import AnimaFiles
from animas_consolidator.run_frame import RunContext, RunPorts, carry_out, open_run
from animas_contracts import ConsolidationDue, ConsolidationMethod, ConsolidationPlanned
from animas_core.config_model import ConsolidationConfig
from animas_core.policy import Delivery

NOTHING_FOR_THE_MODEL = (
    "no old episode file to summarise; duplicate merges and routines are decided without a model"
)


@dataclasses.dataclass(frozen=True)
class WeekFiles:
    """What a weekly run plans from (path -> text), and the knowledge forgetting finds low."""

    episodes: dict[str, str]
    archived: set[str]
    """Episode files whose original is already in ``archive/`` (summarised by an earlier run)."""
    knowledge: dict[str, str]
    procedures: dict[str, str]
    low_activity: list[str]


class LowActivitySource(Protocol):
    """The chunks forgetting finds low on a day (:meth:`Forgetting.low_activity`)."""

    async def low_activity(self, anima: str, day: date, config: ConsolidationConfig) -> list[Memory]: ...


class WeeklyRun:
    """Carries out weekly consolidation runs."""

    def __init__(self, ports: RunPorts, forgetting: LowActivitySource | None = None) -> None:
        self._p = ports
        self._forgetting = forgetting

    async def run(self, due: ConsolidationDue, delivery: Delivery) -> None:
        """Consolidate the week that ends on the day ``due`` names (or the day before it fires)."""
        context = await open_run(self._p, due)
        if context is None:
            return
        consolidation = context.config.consolidation
        settings = WeeklySettings(
            threshold=consolidation.duplicate_threshold,
            summary_after_days=consolidation.episode_summary_after_days,
            min_repeats=consolidation.pattern_min_repeats,
            low_activity_threshold=consolidation.low_activity_merge_threshold,
        )
        episodes = await _episodes(self._p.files, due.anima, context.day, settings)
        archived = await _archived(self._p.files, due.anima, episodes)
        knowledge = await _files_under(self._p.files, due.anima, KNOWLEDGE)
        procedures = await _files_under(self._p.files, due.anima, PROCEDURES)
        sources = len(week_lines(context.day, episodes))

        async def decide() -> ConsolidationPlanned:
            # Read only when planning: a rerun carries out the recorded plan, whatever is low now.
            low = await self._low_activity(due.anima, context)
            week = WeekFiles(episodes, archived, knowledge, procedures, low)
            return await self._decide(context, week, settings, delivery.deliveries)

        await carry_out(self._p, context.ref, delivery, sources, decide)

    async def _decide(
        self,
        context: RunContext,
        week: WeekFiles,
        settings: WeeklySettings,
        attempt: int,
    ) -> ConsolidationPlanned:
        ref, episodes = context.ref, week.episodes
        due: dict[str, list[Entry]] = {}
        for path, text in episodes.items():
            old = is_old(path, context.day, settings) and path not in week.archived
            plain = compressible(text) if old else []
            if not isinstance(plain, str) and plain:
                due[path] = plain
        choice = choose_model(context.config, ref.due.anima, context.status)
        groups: dict[str, list[SummaryGroup]] | None = None
        if isinstance(choice, ModelTarget):
            reason: str | None = NOTHING_FOR_THE_MODEL
            if due:
                messages = summary_messages(ref.due.anima, due)
                answer, reason = await ask_recorded(self._p, ref, choice, messages, attempt)
                groups, reason = _parsed(answer, reason)
        else:
            reason = choice.reason
        result = weekly_plan(
            context.day,
            context.zone,
            episodes,
            week.knowledge,
            settings,
            groups,
            low_activity=week.low_activity,
            procedures=week.procedures,
            archived=week.archived,
        )
        if result.summarised_by_model:
            method, model, reason = ConsolidationMethod.MODEL, getattr(choice, "model", None), None
        elif result.ops or result.rejections:
            method, model = ConsolidationMethod.FALLBACK, None
        else:
            method, model, reason = ConsolidationMethod.NONE, None, None
        return planned(
            ref,
            result.ops,
            method=method,
            model=model,
            fallback_reason=reason,
            skips=list(result.skips) or ([] if result.ops else ["nothing to consolidate this week"]),
            rejections=list(result.rejections),
        )

    async def _low_activity(self, anima: str, context: RunContext) -> list[str]:
        if self._forgetting is None:
            return []
        low = await self._forgetting.low_activity(anima, context.day, context.config.consolidation)
        return [memory.path for memory in low]


def _parsed(text: str | None, failure: str | None) -> tuple[dict[str, list[SummaryGroup]] | None, str | None]:
    """The model's summaries by file, or None and why the deterministic summaries are used."""
    if text is None:
        return None, failure
    try:
        return parse_summary_answer(text), None
    except InvalidAnswer as exc:
        return None, f"the model's answer was not usable: {exc}"


async def _episodes(files: AnimaFiles, anima: str, day: date, settings: WeeklySettings) -> dict[str, str]:
    """The week's episode files and every older one due for a summary."""
    wanted = {episode_path(each) for each in week_days(day)}
    for name in await files.listing(anima, EPISODES):
        path = EPISODES + name
        if episode_day(path) is not None and is_old(path, day, settings):
            wanted.add(path)
    texts = {}
    for path in sorted(wanted):
        text = await files.read(anima, path)
        if text is not None:
            texts[path] = text
    return texts


async def _archived(files: AnimaFiles, anima: str, episodes: Mapping[str, str]) -> set[str]:
    """The episode files whose original an earlier run archived (``archive/episodes/<day>.md``)."""
    names = set(await files.listing(anima, ARCHIVE + EPISODES))
    return {path for path in episodes if path.removeprefix(EPISODES) in names}


async def _files_under(files: AnimaFiles, anima: str, folder: str) -> dict[str, str]:
    """The Markdown files under ``folder`` (``knowledge/`` or ``procedures/``), path -> text."""
    texts = {}
    for path in sorted(p for p in await files.tree(anima) if p.startswith(folder) and p.endswith(".md")):
        text = await files.read(anima, path)
        if text is not None:
            texts[path] = text
    return texts
