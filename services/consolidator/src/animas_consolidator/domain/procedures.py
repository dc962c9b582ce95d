"""Procedures that learn (issue #13 item 4, seed 004): distil, reconsolidate, propose as a skill.

Pure functions of the anima's task store, its procedure files and their outcome counts
(memory-writer's ``stats``), on the run's day:

* a task resolved (``done``) that day becomes ``procedures/<slug>.md``, unless a procedure at
  least :data:`DUPLICATE_THRESHOLD` similar exists already;
* a procedure that failed :data:`REVISE_MIN_FAILURES` times since its version was written and
  whose confidence is below :data:`REVISE_BELOW_CONFIDENCE` is revised (memory-writer bumps the
  version and archives the old one);
* a procedure with :data:`SKILL_MIN_SUCCESSES` successes and confidence at least
  :data:`SKILL_MIN_CONFIDENCE` is proposed as a skill: a file under ``state/skill_proposals/``
  that a person adopts by copying it to ``skills/`` (or declines by deleting it). A proposal is
  a file, not a skill, because skills are protected from forgetting and shown to every cycle:
  that promotion is a person's call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from animas_consolidator.domain.candidates import split_frontmatter
from animas_consolidator.domain.plan import PlannedOp, op_key, slug
from animas_consolidator.domain.similarity import similarity
from animas_contracts import MetaRecord, TaskRecord, TaskState, WriteFile, WriteProcedure

PROCEDURES = "procedures/"
SKILLS = "skills/"
PROPOSALS = "state/skill_proposals/"
DUPLICATE_THRESHOLD = 0.85
DISTILLED_CONFIDENCE = 0.4
"""A procedure distilled from one resolved task starts less trusted than an even 0.5 (seed 004)."""
REVISE_MIN_FAILURES = 2
REVISE_BELOW_CONFIDENCE = 0.6
SKILL_MIN_SUCCESSES = 3
SKILL_MIN_CONFIDENCE = 0.8
PITFALLS_HEADING = "## Known pitfalls"
FAILED_TITLE = "Procedure failed: "
"""How report_procedure_outcome titles the episode entry of a failure (its note follows ' — ')."""
NOTE_SEPARATOR = " — "
DISTILLED_FROM = "Distilled from task"
TASK_MARK = " (from task "
"""Ends a distilled procedure's description, so a task is distilled once, whatever revisions say."""
TEMPLATE_HEADINGS = ("## When to use", "## What resolved it")


@dataclasses.dataclass(frozen=True)
class Procedure:
    """A procedure file with the outcomes memory-writer counted for it."""

    path: str
    text: str
    successes: int = 0
    failures: int = 0

    @property
    def fields(self) -> dict[str, str]:
        return split_frontmatter(self.text)[0]

    @property
    def body(self) -> str:
        return split_frontmatter(self.text)[1]

    @property
    def version(self) -> int:
        return _int(self.fields.get("version"))

    @property
    def confidence(self) -> float:
        """memory-writer's measure: the Laplace-smoothed success rate over every outcome."""
        return (self.successes + 1) / (self.successes + self.failures + 2)

    @property
    def failures_since_revision(self) -> int:
        """Failures counted after this version was written (its frontmatter holds the count then)."""
        return max(0, self.failures - _int(self.fields.get("failure_count")))


def procedures(texts: Mapping[str, str], stats: Iterable[MetaRecord]) -> list[Procedure]:
    """The procedure files (path -> text) with their outcome counts, by path."""
    counts = {record.path: record for record in stats}
    out = []
    for path in sorted(texts):
        record = counts.get(path)
        out.append(
            Procedure(
                path,
                texts[path],
                successes=record.success_count if record else 0,
                failures=record.failure_count if record else 0,
            )
        )
    return out


def resolved_on(tasks: Iterable[TaskRecord], day: date, zone: ZoneInfo) -> list[TaskRecord]:
    """Tasks that reached ``done`` on ``day`` in the anima's zone (their last change that day)."""
    out = []
    for task in tasks:
        if task.state is not TaskState.DONE:
            continue
        try:
            changed = datetime.fromisoformat(task.updated_at)
        except ValueError:
            continue
        local = changed.astimezone(zone) if changed.tzinfo else changed
        if local.date() == day:
            out.append(task)
    return out


def procedure_text(task: TaskRecord, day: str) -> str:
    """The body of a procedure distilled from a resolved task."""
    what = task.detail.strip() or task.title.strip()
    when, how = TEMPLATE_HEADINGS
    return (
        f"# {task.title.strip()}\n\n"
        f"{DISTILLED_FROM} `{task.task_id}`, resolved on {day}.\n\n"
        f"{when}\n\n{task.title.strip()}\n\n"
        f"{how}\n\n{what}\n"
    )


def distil(
    tasks: Sequence[TaskRecord], existing: Sequence[Procedure], day: str
) -> tuple[list[PlannedOp[WriteProcedure]], list[str]]:
    """One new procedure per resolved task, unless a near-identical one exists; and the skips."""
    ops: list[PlannedOp[WriteProcedure]] = []
    skips: list[str] = []
    known = {p.path: p.body for p in existing}
    distilled = {
        p.fields.get("description", "").rpartition(TASK_MARK)[2].rstrip(")"): p.path for p in existing
    }
    for task in tasks:
        if task.task_id in distilled:
            skips.append(f"resolved task {task.task_id}: distilled already into {distilled[task.task_id]}")
            continue
        body = procedure_text(task, day)
        gist = _gist(body)
        nearest = max(known.items(), key=lambda item: similarity(_gist(item[1]), gist), default=None)
        if nearest is not None and similarity(_gist(nearest[1]), gist) >= DUPLICATE_THRESHOLD:
            skips.append(f"resolved task {task.task_id}: {nearest[0]} already describes it")
            continue
        path = _free(f"{PROCEDURES}{slug(task.title, 50)}.md", known)
        known[path] = body
        description = f"{task.title.strip()[:200]}{TASK_MARK}{task.task_id})"
        op = WriteProcedure(path=path, content=body, description=description, confidence=DISTILLED_CONFIDENCE)
        ops.append(PlannedOp(op_key("procedure", path, body), "procedure", op))
    return ops, skips


def needs_revision(procedure: Procedure) -> bool:
    """Failed often enough since its version was written, and not trusted any more."""
    return (
        procedure.failures_since_revision >= REVISE_MIN_FAILURES
        and procedure.confidence < REVISE_BELOW_CONFIDENCE
    )


def failure_notes(procedure: Procedure, episode_lines: Iterable[tuple[str, int, str]]) -> list[str]:
    """The notes of the failures since the version was written, oldest first.

    ``episode_lines`` are (path, line, text) of episode lines naming failures of the procedure;
    the latest ``failures_since_revision`` of them are this version's.
    """
    marker = f"{FAILED_TITLE}{procedure.path}"
    notes = []
    for _, _, text in sorted(episode_lines):
        _, found, rest = text.partition(marker)
        if found:
            notes.append(rest.partition(NOTE_SEPARATOR)[2].strip() or "(no note)")
    wanted = procedure.failures_since_revision
    return notes[-wanted:] if wanted else []


def with_pitfalls(body: str, notes: Sequence[str]) -> str:
    """The deterministic revision: the failure notes appended under "Known pitfalls"."""
    bullets = [f"- {' '.join(note.split())}" for note in notes if note.strip()] or [
        "- It failed without a note; check each step before relying on it."
    ]
    text = body.rstrip("\n")
    if PITFALLS_HEADING not in text:
        text += f"\n\n{PITFALLS_HEADING}"
    fresh = [line for line in bullets if line not in text.split("\n")]
    return text + "\n" + "\n".join(fresh) + "\n" if fresh else text + "\n"


def revision(procedure: Procedure, content: str) -> PlannedOp[WriteProcedure]:
    """The revision of a procedure (memory-writer bumps the version and archives the old one)."""
    op = WriteProcedure(
        path=procedure.path, content=content, description=procedure.fields.get("description", "")
    )
    return PlannedOp(op_key("revise", procedure.path, content), "revise", op)


def skill_worthy(procedure: Procedure) -> bool:
    """Succeeded often enough to be trusted as a skill."""
    return procedure.successes >= SKILL_MIN_SUCCESSES and procedure.confidence >= SKILL_MIN_CONFIDENCE


def proposal_path(procedure: Procedure) -> str:
    """Where the skill proposal of a procedure is written."""
    return PROPOSALS + procedure.path.removeprefix(PROCEDURES)


def skill_path(procedure: Procedure) -> str:
    """Where the skill would live once a person adopts it."""
    return SKILLS + procedure.path.removeprefix(PROCEDURES)


def skill_proposal(procedure: Procedure, day: str) -> PlannedOp[WriteFile]:
    """The proposal file: the evidence, how to adopt or decline it, and the procedure itself."""
    content = (
        f"# Skill proposal: {procedure.path}\n\n"
        f"- Proposed on: {day} by consolidation\n"
        f"- Procedure: {procedure.path} (version {procedure.version})\n"
        f"- Outcomes: {procedure.successes} successes, {procedure.failures} failures, "
        f"confidence {procedure.confidence:.2f}\n\n"
        f"To adopt it, copy the procedure below to `{skill_path(procedure)}`; "
        "to decline it, delete this file.\n\n"
        f"---\n\n{procedure.body.rstrip()}\n"
    )
    path = proposal_path(procedure)
    return PlannedOp(
        op_key("propose_skill", path, content), "propose_skill", WriteFile(path=path, content=content)
    )


def _gist(body: str) -> str:
    """What a procedure says, without the words every distilled procedure shares.

    Those words would make any two distilled procedures look alike.
    """
    return "\n".join(
        line for line in body.split("\n") if not line.startswith((DISTILLED_FROM, *TEMPLATE_HEADINGS))
    )


def _free(path: str, taken: Mapping[str, str]) -> str:
    stem, n = path.removesuffix(".md"), 2
    while path in taken:
        path, n = f"{stem}-{n}.md", n + 1
    return path


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
