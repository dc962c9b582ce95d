"""Chats that each make an anima ``send_message`` another, and counting them in the activity stream.

The scripted model answers by rule: a chat "CHAOS-SEND <n> to <anima>" makes the anima call
``send_message`` with :func:`note` <n>; a tool result is answered "Sent."; anything else (the
recipient's own cycle, and the sender's cycle that reads the recipient's answer) "Noted.".
The recipient's "Noted." is an answer to another anima's question, so outbound delivers it back
to the sender as a reply. :class:`SendLedger` reads back what the stream holds, and
:meth:`SendLedger.problems` lists every chat lost or doubled, every send lost, doubled or
misdelivered, and every answer owed to a sender lost or doubled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tests.chaos.harness import stored_events
from tests.chaos.keyed_chats import Chat
from tests.conftest import RunningSystem

from animas_contracts import (
    MessageKind,
    MessageOrigin,
    MessageReceived,
    OutboundFailed,
    OutboundRequested,
    ResponseSent,
)
from animas_outbound.domain import delivery_id
from animas_tools.scripted_llm import ScriptedLLM, ScriptedToolCall, Turn

_ASK = re.compile(r"CHAOS-SEND (\d+) to ([a-z0-9_-]+)")
_NOTE = "chaos note "


def ask(n: int, recipient: str) -> str:
    """What a client writes to make its anima send note ``n`` to ``recipient``."""
    return f"CHAOS-SEND {n} to {recipient}"


def note(n: int) -> str:
    return f"{_NOTE}{n}"


def send_chat(n: int, animas: tuple[str, ...], key_prefix: str) -> Chat:
    """Chat ``n``: anima n (round robin) asks to send note n to the next anima.

    Each chat comes from a sender of its own (``client-<n>``), so each is its own conversation:
    chats from one sender would share a prompt, and one whose reply memory-writer has not written
    yet (it may be restarting) would look unanswered and be acted on again by the model.
    """
    anima, recipient = animas[n % len(animas)], animas[(n + 1) % len(animas)]
    return Chat(anima, f"{key_prefix}-{n}", ask(n, recipient), sender=f"client-{n}")


def rule(body: Mapping[str, Any]) -> Turn:
    """The model: send when asked to, say "Sent." after the tool, "Noted." to everything else."""
    last = body["messages"][-1]
    if last.get("role") == "tool":
        return Turn(text="Sent.")
    asked = _ASK.search(str(last.get("content", ""))) if last.get("role") == "user" else None
    if asked is None:
        return Turn(text="Noted.")
    number, to = asked.groups()
    return Turn(tool_calls=[ScriptedToolCall("send_message", {"to": to, "text": note(int(number))})])


@contextlib.contextmanager
def scripted_senders() -> Iterator[ScriptedLLM]:
    """The scripted LLM answering by :func:`rule`."""
    with ScriptedLLM() as server:
        server.respond_with(rule)
        yield server


def _chat_number(event: MessageReceived) -> int | None:
    asked = _ASK.search(event.text)
    return int(asked.group(1)) if asked and event.origin is MessageOrigin.HUMAN else None


@dataclasses.dataclass(frozen=True)
class SendLedger:
    """What the activity stream holds about the chats and the sends they asked for."""

    chats: list[tuple[str, int]]
    """(message id, chat number) of every stored human chat that asks for a send."""
    deliveries: list[MessageReceived]
    """Messages from animas that a send asked for (what outbound delivered of the sends)."""
    answers: list[MessageReceived]
    """Answers outbound delivered back to the anima that asked (kind reply)."""
    sends: list[OutboundRequested]
    replies: list[ResponseSent]
    failed: list[OutboundFailed]

    @classmethod
    def read(cls, system: RunningSystem) -> SendLedger:
        events = stored_events(
            system, "message.received", "response.sent", "outbound.requested", "outbound.failed"
        )
        received = [e for e in events if isinstance(e, MessageReceived)]
        return cls(
            chats=[(e.id, n) for e in received if (n := _chat_number(e)) is not None],
            deliveries=[
                e for e in received if e.origin is MessageOrigin.ANIMA and e.kind is MessageKind.MESSAGE
            ],
            answers=[e for e in received if e.origin is MessageOrigin.ANIMA and e.kind is MessageKind.REPLY],
            sends=[e for e in events if isinstance(e, OutboundRequested)],
            replies=[e for e in events if isinstance(e, ResponseSent)],
            failed=[e for e in events if isinstance(e, OutboundFailed)],
        )

    def settled(self, chats: int) -> bool:
        """Whether every chat is answered and every send delivered (late replies, queued deliveries)."""
        delivered = {e.id for e in self.deliveries}
        replied = {r.in_reply_to for r in self.replies}
        answered = {e.id for e in self.answers}
        return (
            len(self.sends) >= chats
            and all(delivery_id(s.id) in delivered for s in self.sends)
            and all(message_id in replied for message_id, _ in self.chats)
            and all(delivery_id(r.id) in answered for r in self.owed())
        )

    def owed(self) -> list[ResponseSent]:
        """Answers to another anima's question: each is delivered back to it, once."""
        return [r for r in self.replies if r.deliver]

    def problems(self, numbers: Iterable[int]) -> list[str]:
        """Every way the stream differs from "each chat once, answered once, its send delivered once"."""
        expected = set(numbers)
        found: list[str] = []
        stored = Counter(n for _, n in self.chats)
        if lost := sorted(expected - set(stored)):
            found.append(f"{len(lost)} chats never stored: {lost[:20]}")
        if doubled := sorted(n for n, k in stored.items() if k != 1):
            found.append(f"chats stored more than once: {doubled[:20]}")
        if strangers := sorted(set(stored) - expected):
            found.append(f"chats stored that no client sent: {strangers[:20]}")
        answered = Counter(r.in_reply_to for r in self.replies)
        if wrong := sorted(n for message_id, n in self.chats if answered[message_id] != 1):
            found.append(f"chats not answered exactly once: {wrong[:20]}")
        requested = Counter(int(s.text.removeprefix(_NOTE)) for s in self.sends)
        if unsent := sorted(expected - set(requested)):
            found.append(f"{len(unsent)} chats answered without their send stored: {unsent[:20]}")
        if resent := sorted(n for n, k in requested.items() if k != 1):
            found.append(f"sends requested more than once: {resent[:20]}")
        if self.failed:
            found.append(f"{len(self.failed)} outbound.failed: {[f.reason for f in self.failed][:5]}")
        found += self._delivery_problems()
        found += self._answer_problems()
        return found

    def _answer_problems(self) -> list[str]:
        """Every answer owed to a sender delivered back once, under the id derived from the answer."""
        copies = Counter(e.id for e in self.answers)
        owed = self.owed()
        found = [
            f"answer {r.id} delivered {copies[delivery_id(r.id)]} times"
            for r in owed
            if copies[delivery_id(r.id)] != 1
        ]
        if len(owed) != len(self.deliveries):
            found.append(f"{len(owed)} answers owed for {len(self.deliveries)} delivered sends")
        if len(self.answers) != len(owed):
            found.append(f"{len(self.answers)} answers delivered for {len(owed)} owed")
        return found

    def _delivery_problems(self) -> list[str]:
        """Every send delivered to its recipient exactly once, under the id derived from the request."""
        by_cause: dict[str, list[MessageReceived]] = {}
        for delivery in self.deliveries:
            by_cause.setdefault(delivery.causation_id or "", []).append(delivery)
        found = []
        for send in self.sends:
            copies = by_cause.get(send.id, [])
            if len(copies) != 1:
                found.append(f"{send.text!r} delivered {len(copies)} times")
                continue
            (copy,) = copies
            if copy.id != delivery_id(send.id) or (copy.anima, copy.sender, copy.text) != (
                send.to,
                send.anima,
                send.text,
            ):
                found.append(f"{send.text!r} delivered as {copy.id} to {copy.anima} from {copy.sender}")
        if len(self.deliveries) != len(self.sends):
            found.append(f"{len(self.deliveries)} deliveries for {len(self.sends)} sends")
        return found


def wait_until_settled(system: RunningSystem, chats: int, timeout_s: float = 120.0) -> SendLedger:
    """The ledger once every late reply and queued delivery is in (or as it is after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while True:
        ledger = SendLedger.read(system)
        if ledger.settled(chats) or time.monotonic() > deadline:
            return ledger
        time.sleep(2)
