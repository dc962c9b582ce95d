"""One weekly consolidation run: read the week and the knowledge, plan, then let the run frame apply it.

Weekly consolidation merges knowledge duplicates, distils actions repeated in the week into one
knowledge file each and replaces old episode files by summaries (the originals archived). Its
decisions are deterministic (:mod:`animas_consolidator.domain.weekly_plan`); the run frame
records the plan before applying it, so a run killed at any point applies each decision once.
"""

from __future__ import annotations

from datetime import date

from animas_consolidator.domain.citations import KNOWLEDGE
from animas_consolidator.domain.model_choice import ModelTarget, choose_model
from animas_consolidator.domain.records import RunRef, planned
from animas_consolidator.domain.sources import EPISODES, episode_path
from animas_consolidator.domain.weekly_plan import (
    WeeklySettings,
    episode_day,
    is_old,
    week_days,
    week_lines,
    weekly_plan,
)
from animas_consolidator.ports import AnimaFiles
from animas_consolidator.run_frame import RunContext, RunPorts, carry_out, open_run
from animas_contracts import ConsolidationDue, ConsolidationMethod, ConsolidationPlanned
from animas_core.policy import Delivery

MODEL_SUMMARIES_NOT_BUILT = (
    "weekly decisions are deterministic: alike entries are collapsed into one with their count and "
    "time range; summaries written by the model are not built yet"
)


class WeeklyRun:
    """Carries out weekly consolidation runs."""

    def __init__(self, ports: RunPorts) -> None:
        self._p = ports

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
        )
        episodes = await _episodes(self._p.files, due.anima, context.day, settings)
        knowledge = await _knowledge(self._p.files, due.anima)
        sources = len(week_lines(context.day, episodes))

        async def decide() -> ConsolidationPlanned:
            return _planned(context, episodes, knowledge, settings)

        await carry_out(self._p, context.ref, delivery, sources, decide)


def _planned(
    context: RunContext, episodes: dict[str, str], knowledge: dict[str, str], settings: WeeklySettings
) -> ConsolidationPlanned:
    result = weekly_plan(context.day, context.zone, episodes, knowledge, settings)
    ref: RunRef = context.ref
    if not result.ops and not result.rejections:
        method, reason = ConsolidationMethod.NONE, None
    else:
        choice = choose_model(context.config, ref.due.anima, context.status)
        method = ConsolidationMethod.FALLBACK
        reason = MODEL_SUMMARIES_NOT_BUILT if isinstance(choice, ModelTarget) else choice.reason
    return planned(
        ref,
        result.ops,
        method=method,
        model=None,
        fallback_reason=reason,
        skips=list(result.skips) or ([] if result.ops else ["nothing to consolidate this week"]),
        rejections=list(result.rejections),
    )


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


async def _knowledge(files: AnimaFiles, anima: str) -> dict[str, str]:
    texts = {}
    for path in sorted(p for p in await files.tree(anima) if p.startswith(KNOWLEDGE) and p.endswith(".md")):
        text = await files.read(anima, path)
        if text is not None:
            texts[path] = text
    return texts
