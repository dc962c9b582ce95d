"""Re-running recorded daily consolidation runs with the code of this build, offline.

Each daily run recorded what it decided from (``consolidation.planned``'s inputs), the model's
answer (``llm.called``) and when memory-writer was asked for each decision
(``memory.op.requested``). A replay takes the runs of some days in order, rebuilds each prompt
with the current build and diffs it against the recorded one, answers with the recorded text,
and applies the replayed plan to a shadow of the knowledge it touched, starting from the texts
the first run read. No broker, model or anima files are needed.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from animas_consolidator.domain import day_decision
from animas_consolidator.domain.day_decision import DayInputs, UnreadableInputs
from animas_consolidator.domain.decisions import Decision
from animas_consolidator.domain.knowledge_file import knowledge_file
from animas_consolidator.domain.plan import plan
from animas_consolidator.domain.records import PURPOSE
from animas_contracts import (
    ConsolidationKind,
    ConsolidationPlanned,
    ConsolidationStarted,
    Event,
    LlmCalled,
    MemoryOpRequested,
    PlannedDecision,
    WriteKnowledge,
    derive_id,
)

KNOWLEDGE_ACTIONS = frozenset({"create", "merge", "supersede"})
"""What a daily decision does to knowledge; the procedure stage's decisions are not replayed."""


@dataclasses.dataclass(frozen=True)
class RecordedRun:
    """One daily run as the stream kept it."""

    planned: ConsolidationPlanned
    inputs: DayInputs
    call: LlmCalled | None
    """The model call the plan was decided from (None: no model was asked)."""
    requested_at: Mapping[str, datetime]
    """When each ``memory.op.requested`` of the run was recorded, by event id."""


@dataclasses.dataclass(frozen=True)
class RunReplay:
    """How one replayed run compares with its recording."""

    run: RecordedRun
    prompt_diff: tuple[str, ...]
    prompt_note: str
    recorded_keys: tuple[str, ...]
    replayed_keys: tuple[str, ...]
    rejections: tuple[str, ...]
    not_replayed: tuple[str, ...]
    """The recorded decisions that are not the day's knowledge (procedures, skills), by action."""


@dataclasses.dataclass(frozen=True)
class Replay:
    """The replayed runs and the shadow knowledge they wrote."""

    runs: tuple[RunReplay, ...]
    shadow: Mapping[str, str]
    touched: tuple[str, ...]
    """Every knowledge file a recorded or a replayed run wrote."""


def recorded_runs(
    events: Iterable[Event], anima: str, first: date, last: date
) -> tuple[list[RecordedRun], list[str]]:
    """The daily runs of ``anima`` for the days ``first`` to ``last``, in the order they were recorded."""
    events = [e for e in events if e.anima == anima]
    runs: list[RecordedRun] = []
    left_out: list[str] = []
    planned_ids = set()
    for index, event in enumerate(events):
        if not isinstance(event, ConsolidationPlanned) or event.run_id in planned_ids or event.inputs is None:
            continue
        planned_ids.add(event.run_id)
        try:
            inputs = DayInputs.from_builtins(event.inputs.inline)
        except UnreadableInputs as exc:
            left_out.append(f"run {event.run_id}: {exc}")
            continue
        if not first <= date.fromisoformat(inputs.day) <= last:
            continue
        calls = [
            e
            for e in events[:index]
            if isinstance(e, LlmCalled) and e.purpose == PURPOSE and e.cycle_id == event.run_id
        ]
        requested = {
            e.id: e.ts for e in events if isinstance(e, MemoryOpRequested) and e.causation_id == event.run_id
        }
        call = calls[-1] if calls and inputs.model is not None else None
        runs.append(RecordedRun(event, inputs, call, requested))
    for event in events:
        if not isinstance(event, ConsolidationStarted) or event.run_id in planned_ids or event.date is None:
            continue
        if not first <= date.fromisoformat(event.date) <= last:
            continue
        if event.kind is ConsolidationKind.WEEKLY:
            left_out.append(f"weekly run {event.run_id} ({event.date}): weekly runs are not replayed")
        else:
            left_out.append(
                f"daily run {event.run_id} ({event.date}): recorded no inputs "
                "(nothing to consolidate, failed, or recorded before runs kept their inputs)"
            )
    return runs, list(dict.fromkeys(left_out))


def replay(runs: Sequence[RecordedRun]) -> Replay:
    """Re-run ``runs`` in order against a shadow of the knowledge they read and wrote."""
    shadow: dict[str, str] = {}
    replays: list[RunReplay] = []
    touched: list[str] = []
    for run in runs:
        inputs = _on_shadow(run.inputs, shadow)
        decisions, diff, note = _decisions(run, inputs)
        accepted, rejections = day_decision.checked(inputs, decisions)
        extra = {
            p: shadow.get(p, run.inputs.extra.get(p, ""))
            for p in day_decision.files_to_read(accepted, inputs.texts)
        }
        texts = {**inputs.texts, **extra}
        result = plan(accepted, texts, inputs.day)
        for planned_op in result.ops:
            op = planned_op.op
            at = run.requested_at.get(
                derive_id(run.planned.run_id, "decision", planned_op.key), run.planned.ts
            )
            shadow[op.path] = knowledge_file(shadow.get(op.path, texts.get(op.path)), op, at)
            touched.append(op.path)
        recorded = [d for d in run.planned.decisions if _is_knowledge(d)]
        touched += [d.op.path for d in recorded if isinstance(d.op, WriteKnowledge)]
        replays.append(
            RunReplay(
                run=run,
                prompt_diff=diff,
                prompt_note=note,
                recorded_keys=tuple(d.key for d in recorded),
                replayed_keys=tuple(p.key for p in result.ops),
                rejections=tuple(rejections),
                not_replayed=tuple(d.action for d in run.planned.decisions if not _is_knowledge(d)),
            )
        )
    return Replay(tuple(replays), shadow, tuple(dict.fromkeys(touched)))


def _is_knowledge(decision: PlannedDecision) -> bool:
    """A decision of the day's knowledge (the procedure stage adds others to the same plan)."""
    return isinstance(decision.op, WriteKnowledge) and decision.action in KNOWLEDGE_ACTIONS


def _on_shadow(inputs: DayInputs, shadow: Mapping[str, str]) -> DayInputs:
    """The run's inputs with the knowledge earlier replayed runs wrote in place of the recorded."""
    texts = {path: shadow.get(path, text) for path, text in inputs.texts.items()}
    known = tuple(sorted(set(inputs.known) | set(shadow)))
    return dataclasses.replace(inputs, texts=texts, known=known)


def _decisions(run: RecordedRun, inputs: DayInputs) -> tuple[list[Decision], tuple[str, ...], str]:
    """The decisions the replayed run carries out, the prompt's diff and a note on the prompt."""
    if inputs.model is None:
        return day_decision.fallback(inputs), (), f"no model was asked ({inputs.no_model_reason})"
    current = _as_text(day_decision.messages(inputs))
    recorded = _recorded_prompt(run.call)
    if recorded is None:
        note = "the recording holds no prompt to compare"
        diff: tuple[str, ...] = ()
    else:
        diff = tuple(
            difflib.unified_diff(
                recorded.splitlines(), current.splitlines(), "recorded", "current build", lineterm=""
            )
        )
        note = "differs from the recording" if diff else "identical to the recording"
    if run.call is None or run.call.turn is None or run.call.turn.text is None:
        return day_decision.fallback(inputs), diff, note + "; the recorded call has no answer: fallback"
    decisions, failure = day_decision.answered(run.call.turn.text)
    if decisions is None:
        return day_decision.fallback(inputs), diff, f"{note}; {failure}: fallback"
    return decisions, diff, note


def _recorded_prompt(call: LlmCalled | None) -> str | None:
    request = call.request.inline if call is not None else None
    messages = request.get("messages") if isinstance(request, dict) else None
    if not isinstance(messages, list):
        return None
    return _as_text([m for m in messages if isinstance(m, dict)])


def _as_text(messages: Sequence[Mapping[str, object]]) -> str:
    return "\n".join(f"## {m.get('role')}\n{m.get('content')}" for m in messages)
