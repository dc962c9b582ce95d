"""The conversation a message arrives in: read, compacted when it has grown, framed for the model."""

from __future__ import annotations

import logging

from animas_agent_runner import domain
from animas_agent_runner.cycle.conversation import (
    ConversationUnreadable,
    decode_conversation,
    message_line,
    prepare_history,
)
from animas_agent_runner.cycle.recorder import CycleRecorder
from animas_agent_runner.modes.calls import ModelChain
from animas_agent_runner.ports import AssistantTurn, MemoryReader, TurnRequest, UserTurn
from animas_contracts import MessageReceived, conversation_path
from animas_core.broker import EventSink

_log = logging.getLogger(__name__)


async def message_history(
    memory: MemoryReader,
    publisher: EventSink,
    event: MessageReceived,
    *,
    summarizer: ModelChain,
    recorder: CycleRecorder,
    window: int,
    threshold: float,
    max_tokens: int,
) -> tuple[UserTurn | AssistantTurn, ...]:
    """The conversation with the sender in this message's thread, ending with the message itself.

    It starts with the summary of the peer (shared by all their threads); other threads' turns are
    not part of it.

    Past ``threshold`` of the window older turns are summarized (by the model, recorded as an
    ``llm.called`` of purpose ``conversation_summary``, or deterministically when that fails)
    and the compaction is published for memory-writer, which keeps the folded turns whole.
    """
    current = message_line(event)
    text = await memory.read(event.anima, conversation_path(event.sender))
    try:
        conversation = decode_conversation(text, event.sender)
    except ConversationUnreadable as exc:
        _log.warning("conversation unreadable; answering without it", extra={"error": str(exc)})
        return (UserTurn(current),)

    async def say(system: str, user: str) -> str:
        request = TurnRequest(system=system, conversation=(UserTurn(user),), max_tokens=max_tokens)
        recorder.purpose = "conversation_summary"
        try:
            return (await summarizer.turn(request, stream=False)).text
        finally:
            recorder.purpose = "turn"

    prepared = await prepare_history(
        conversation,
        anima=event.anima,
        message_id=event.id,
        current=current,
        window=window,
        threshold=threshold,
        say=say,
        correlation_id=event.correlation_id,
        causation_id=domain.cycle_id_for(event.id),
        thread_id=event.thread_id,
    )
    if prepared.compaction is not None:
        await publisher.publish(prepared.compaction)
    return prepared.items
