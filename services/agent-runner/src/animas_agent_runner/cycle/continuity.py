"""How a cycle outlives its process and its context: journal recovery and session chaining.

Recovery (seed 003 §4.11, DESIGN §9): the delta events are the write-ahead journal. When a
message is delivered again and was not answered, the attempts that died are read back from the
journal and what they streamed is recorded in a ``cycle.recovered`` event before the cycle runs
again; the reply still has its derived id, so it is sent once.

Chaining (seed 003 §4.9): when a session passes ``context_threshold`` its state is saved as
short-term memory (``shortterm/archive/``, where consolidation reads it with the episodes) and
recorded in a ``cycle.chained`` event; the tool loop then continues in a new session.
"""

from __future__ import annotations

import logging

from animas_agent_runner import domain
from animas_agent_runner.modes.tool_loop import Chaining, SessionState
from animas_agent_runner.ports import Journal
from animas_contracts import (
    CycleChained,
    CycleRecovered,
    MemoryOpRequested,
    MessageReceived,
    WriteFile,
    derive_id,
)
from animas_core.broker import EventSink

_log = logging.getLogger(__name__)


async def recover_interrupted(
    journal: Journal, publisher: EventSink, message: MessageReceived, attempt: int
) -> list[CycleRecovered]:
    """Record what earlier attempts of this cycle streamed before they died; return the records."""
    cycle_id = domain.cycle_id_for(message.id)
    records = []
    for earlier in await journal.attempts(message.anima, cycle_id, since=message.ts):
        if earlier.attempt >= attempt or not (earlier.text or earlier.tools_started):
            continue
        record = CycleRecovered(
            id=derive_id(cycle_id, "recovered", earlier.attempt),
            anima=message.anima,
            correlation_id=message.correlation_id,
            causation_id=cycle_id,
            producer=domain.PRODUCER,
            cycle_id=cycle_id,
            attempt=earlier.attempt,
            partial_text=earlier.text,
            tools_started=list(earlier.tools_started),
            stream_finished=earlier.finished,
        )
        await publisher.publish(record)
        records.append(record)
        _log.info(
            "recovered an interrupted attempt from the journal",
            extra={"cycle_id": cycle_id, "attempt": earlier.attempt, "chars": len(earlier.text)},
        )
    return records


def state_path(message: MessageReceived, chain: int) -> str:
    """Where a chained session's state is kept in the anima's memory."""
    day = message.ts.strftime("%Y%m%d")
    return f"shortterm/archive/{day}-{domain.cycle_id_for(message.id)}-{chain}.md"


def chaining_for(
    publisher: EventSink, message: MessageReceived, *, window: int, threshold: float, max_chains: int
) -> Chaining:
    """The chaining rule of one cycle: save through memory-writer, record the event, go on."""
    cycle_id = domain.cycle_id_for(message.id)

    async def save(state: SessionState) -> None:
        path = state_path(message, state.chain)
        await publisher.publish(
            MemoryOpRequested(
                id=derive_id(cycle_id, "session-state", state.chain),
                anima=message.anima,
                correlation_id=message.correlation_id,
                causation_id=cycle_id,
                producer=domain.PRODUCER,
                cycle_id=cycle_id,
                op=WriteFile(path=path, content=f"# Session state of cycle {cycle_id}\n\n{state.text}\n"),
            )
        )
        await publisher.publish(
            CycleChained(
                id=derive_id(cycle_id, "chained", state.chain),
                anima=message.anima,
                correlation_id=message.correlation_id,
                causation_id=cycle_id,
                producer=domain.PRODUCER,
                cycle_id=cycle_id,
                chain=state.chain,
                prompt_tokens=state.prompt_tokens,
                threshold_tokens=state.threshold_tokens,
                state_path=path,
                state=state.text,
            )
        )

    return Chaining(threshold_tokens=int(window * threshold), max_chains=max_chains, save=save)
