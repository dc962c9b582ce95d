"""The weekly plan: knowledge merged, repeated actions distilled into procedures, old episodes summarised.

Pure: it takes what the week left (episode files, knowledge and procedure files) and returns the
memory operations in the order they are applied, each with a key the operation's id derives from,
so a run killed and run again carries out the same decisions once. Merges come first (duplicates,
then low-activity chunks alike at a lower threshold); summaries come last, because the
routines cite the entries where they stay: a day summarised in the same run is cited in its
archived original (``archive/episodes/…``), so every source line can still be found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from animas_consolidator.domain.citations import KNOWLEDGE
from animas_consolidator.domain.compression import (
    DaySummary,
    compressible,
    summarise_day,
    summary_from_groups,
)
from animas_consolidator.domain.duplicates import duplicate_merges, rendered_file
from animas_consolidator.domain.episodes import parse
from animas_consolidator.domain.forgetting import IMPORTANT
from animas_consolidator.domain.patterns import DatedEntry, Routines, routine_procedures
from animas_consolidator.domain.plan import PlannedOp, op_key
from animas_consolidator.domain.sources import (
    EPISODES,
    SourceKind,
    SourceLine,
    episode_path,
    file_lines,
)
from animas_consolidator.domain.summary_prompt import SummaryGroup
from animas_contracts import ArchiveMemory, MemoryOp, WriteKnowledge

WEEK_DAYS = 7
ARCHIVE = "archive/"
"""Where memory-writer's archive op moves a file (``archive/<its path>``)."""


@dataclasses.dataclass(frozen=True)
class WeeklySettings:
    """The thresholds of a weekly run (config.json ``consolidation``)."""

    threshold: float
    summary_after_days: int
    min_repeats: int
    low_activity_threshold: float = 0.6
    """Two low-activity knowledge chunks alike at this (lower) similarity are merged too (seed 004,
    neurogenesis-inspired reorganisation); chunks in use merge only at ``threshold``."""


@dataclasses.dataclass(frozen=True)
class WeeklyPlan:
    """The operations of a weekly run, what it left out and what it refused."""

    ops: tuple[PlannedOp[MemoryOp], ...]
    skips: tuple[str, ...]
    rejections: tuple[str, ...]
    summarised_by_model: int = 0
    """Episode files whose summary the model wrote (the others were collapsed deterministically)."""


def week_days(day: date) -> list[date]:
    """The seven days a weekly run for ``day`` looks at: ``day`` and the six before it."""
    return [day - timedelta(days=back) for back in range(WEEK_DAYS - 1, -1, -1)]


def episode_day(path: str) -> date | None:
    """The day of an episode file (``episodes/YYYY-MM-DD.md``), or None for any other file."""
    name = path.removeprefix(EPISODES)
    if path == name or "/" in name or not name.endswith(".md"):
        return None
    try:
        return date.fromisoformat(name.removesuffix(".md"))
    except ValueError:
        return None


def is_old(path: str, day: date, settings: WeeklySettings) -> bool:
    """Whether an episode file is old enough to be summarised by the run for ``day``."""
    of = episode_day(path)
    return of is not None and of <= day - timedelta(days=settings.summary_after_days)


def week_lines(day: date, episodes: Mapping[str, str], moved: Collection[str] = ()) -> list[SourceLine]:
    """The citable lines of the week's episode files; a file in ``moved`` is cited where it is archived."""
    lines: list[SourceLine] = []
    for each in week_days(day):
        path = episode_path(each)
        if path in episodes:
            lines += file_lines(_cited(path, moved), episodes[path], SourceKind.EPISODE)
    return lines


def already_archived(path: str, text: str) -> str:
    """Why a day whose original is archived already is not summarised again.

    Its summary was written when the original went to ``archive/<path>``; entries appended since
    (a late entry for that day) cannot be archived under that name again, and summarising them
    without archiving them would lose their words, so the file is left as it is.
    """
    if isinstance(compressible(text), str):
        return f"{path} not summarised: it is a summary already"
    where = f"its original is in {ARCHIVE}{path}"
    return f"{path} not summarised: it is a summary already ({where}); later entries stay as written"


def _cited(path: str, moved: Collection[str]) -> str:
    return ARCHIVE + path if path in moved else path


def weekly_plan(
    day: date,
    zone: ZoneInfo,
    episodes: Mapping[str, str],
    knowledge: Mapping[str, str],
    settings: WeeklySettings,
    model_groups: Mapping[str, Sequence[SummaryGroup]] | None = None,
    low_activity: Collection[str] = (),
    procedures: Mapping[str, str] | None = None,
    archived: Collection[str] = (),
) -> WeeklyPlan:
    """Every operation of the weekly run for ``day``, in the order it is applied.

    ``model_groups`` are the model's summaries by episode file; a file it did not summarise
    usably is collapsed deterministically, and the run says why. ``low_activity`` are the
    knowledge files forgetting found low on ``day`` (never protected ones): those alike at
    ``settings.low_activity_threshold`` are merged after the duplicates. ``procedures`` are the
    anima's procedure files, which a routine of the week joins instead of repeating. ``archived``
    are the episode files whose original is already in the archive (summarised before): see
    :func:`already_archived`.
    """
    skips: list[str] = []
    summaries: dict[str, DaySummary] = {}
    by_model = 0
    for path in sorted(p for p in episodes if is_old(p, day, settings)):
        if path in archived:
            skips.append(already_archived(path, episodes[path]))
            continue
        the_day, text = episode_day(path) or day, episodes[path]
        summary = summarise_day(the_day, text, zone, settings.threshold)
        groups = (model_groups or {}).get(path)
        if groups is not None and not isinstance(compressible(text), str):
            written = summary_from_groups(the_day, path, text, zone, groups)
            if isinstance(written, str):
                skips.append(f"{path}: {written}; its alike entries were collapsed without the model")
            else:
                summary, by_model = written, by_model + 1
        if isinstance(summary, str):
            skips.append(f"{path} not summarised: {summary}")
        else:
            summaries[path] = summary
    texts = dict(knowledge)
    ops = _merges(texts, settings.threshold, "merge")
    # Low as forgetting found it before the duplicate merges; a file that gained an [IMPORTANT]
    # line from one is protected now.
    low = [p for p in sorted(low_activity) if p.startswith(KNOWLEDGE) and IMPORTANT not in texts.get(p, "")]
    ops += _merges(texts, settings.low_activity_threshold, "low-activity-merge", low)
    routines = _routines(day, episodes, procedures or {}, settings, summaries)
    ops += routines.ops
    for path, summary in summaries.items():
        ops.append(PlannedOp(op_key("compress", path, episodes[path]), "compress", ArchiveMemory(path=path)))
        for index, entry in enumerate(summary.entries):
            ops.append(PlannedOp(op_key("summary", f"{path}#{index}", episodes[path]), "summary", entry))
    return WeeklyPlan(
        ops=tuple(ops),
        skips=(*routines.skips, *skips),
        rejections=(),
        summarised_by_model=by_model,
    )


def _merges(
    texts: dict[str, str], threshold: float, label: str, among: Collection[str] | None = None
) -> list[PlannedOp[MemoryOp]]:
    """The merges of the files (of ``among``, else all) alike at ``threshold``.

    ``texts`` is left as the knowledge stands after them; ``label`` keys the ops, so each kind of
    merge has its own ids.
    """
    ops: list[PlannedOp[MemoryOp]] = []
    pool = {path: texts[path] for path in (texts if among is None else among) if path in texts}
    for merge in duplicate_merges(pool, threshold):
        write = WriteKnowledge(path=merge.keep, content=merge.content, frontmatter=merge.frontmatter)
        # Counted as "merge" in consolidation.finished whichever threshold found the pair.
        ops.append(PlannedOp(op_key(label, merge.keep, merge.content), "merge", write))
        archive = ArchiveMemory(path=merge.drop)
        ops.append(PlannedOp(op_key("archive", merge.drop, texts[merge.drop]), "archive", archive))
        texts[merge.keep] = rendered_file(texts[merge.keep], merge.content, merge.frontmatter)
        del texts[merge.drop]
    return ops


def _routines(
    day: date,
    episodes: Mapping[str, str],
    procedures: Mapping[str, str],
    settings: WeeklySettings,
    moved: Collection[str],
) -> Routines:
    """The week's routines as procedures.

    An entry of a day summarised in this run is cited in the archived original, where its line stays.
    """
    week = [
        DatedEntry(_cited(episode_path(each), moved), each.isoformat(), entry)
        for each in week_days(day)
        if episode_path(each) in episodes
        for entry in parse(episodes[episode_path(each)]).entries
    ]
    routines = routine_procedures(week, procedures, settings.min_repeats, settings.threshold, day.isoformat())
    if routines.uncovered:
        repeats = settings.min_repeats
        note = (
            f"{routines.uncovered} entries of the week repeat fewer than {repeats} times; they stay episodes"
        )
        routines = dataclasses.replace(routines, skips=[*routines.skips, note])
    return routines
