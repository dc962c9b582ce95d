"""Messages into an anima and replies out of it."""

from __future__ import annotations

import enum
from typing import Annotated

import msgspec
from msgspec import Meta

from animas_contracts.envelope import Event


class MessageOrigin(enum.StrEnum):
    """Where a message came from; only the gateway may publish messages from outside."""

    HUMAN = "human"
    ANIMA = "anima"
    EXTERNAL = "external"


class MessageKind(enum.StrEnum):
    """What a message between animas is for (seed 003 §7's types), and so what it wakes.

    Only a ``message`` asks for an answer: the final answer of the cycle it starts goes back to
    the sender as a ``reply``. Nothing else is answered automatically, so two animas cannot fall
    into an answer-to-an-answer loop by default (an explicit ``send_message`` is still counted by
    the hop and pair limits).
    """

    MESSAGE = "message"
    """A question or request: the recipient's final answer goes back to the sender."""
    REPLY = "reply"
    """The final answer to a ``message``: read in a cycle, not answered automatically."""
    ACK = "ack"
    """An acknowledgement: recorded in the inbox and the log, wakes no cycle, passes storm guards."""
    TASK = "task"
    """A delegated task from the supervisor: starts a task cycle that ends in a report."""
    REPORT = "report"
    """A subordinate's report on a delegated task: moves the supervisor's task, wakes it."""
    MENTION = "mention"
    """An ``@name`` or ``@all`` mention in a board post."""


class ReportOutcome(enum.StrEnum):
    """How a delegated task ended, as its assignee reports it."""

    DONE = "done"
    FAILED = "failed"
    BLOCKED = "blocked"


class TaskLink(msgspec.Struct, frozen=True, kw_only=True):
    """The link between a supervisor's delegated task and its subordinate's copy.

    Both ids are the owners' own task-store ids; ``supervisor`` is the anima that delegated.
    """

    supervisor: Annotated[str, Meta(description="The anima that delegated the task.")]
    supervisor_task_id: Annotated[
        str, Meta(description="The task in the supervisor's store (state delegated).")
    ]
    task_id: Annotated[str, Meta(description="The task in the assignee's store.")]
    assignee: Annotated[str, Meta(description="The direct subordinate the task was delegated to.")]
    deadline: Annotated[str | None, Meta(description="ISO 8601 time it is due by, if any.")] = None
    outcome: Annotated[
        ReportOutcome | None, Meta(description="On a report: how the task ended; null on the task itself.")
    ] = None


class ResponseOutcome(enum.StrEnum):
    """What kind of answer a response is."""

    REPLY = "reply"
    """The anima's model answered."""
    CONFIGURATION_NEEDED = "configuration_needed"
    """No usable model is configured; the text says how to configure one."""
    ERROR = "error"
    """The cycle failed; the text says why in words fit for the sender."""


class MessageReceived(Event, frozen=True, kw_only=True, tag="message.received"):
    """A message arrived for an anima (from a human, another anima or an external system)."""

    text: Annotated[str, Meta(description="The message body.")]
    sender: Annotated[str, Meta(description="Who sent it: a human's name or an anima's name.")]
    thread_id: Annotated[str, Meta(description="The conversation thread this message belongs to.")]
    reply_to: Annotated[str | None, Meta(description="Id of the message this one answers, if any.")] = None
    origin: Annotated[MessageOrigin, Meta(description="Where the message came from.")] = MessageOrigin.HUMAN
    attachments: Annotated[list[str], Meta(description="File references that travel with the message.")] = []  # noqa: RUF012 - msgspec copies mutable defaults per instance
    kind: Annotated[
        MessageKind, Meta(description="What the message is for (only 'message' is answered automatically).")
    ] = MessageKind.MESSAGE
    hops: Annotated[
        int,
        Meta(
            description="Anima-to-anima deliveries in this message's causal chain, this one "
            "included (0 from a person)."
        ),
    ] = 0
    pair_depth: Annotated[
        int,
        Meta(
            description="Consecutive back-and-forth deliveries between this sender and "
            "recipient in the chain."
        ),
    ] = 0
    task: Annotated[
        TaskLink | None, Meta(description="The delegated task a task or report message is about.")
    ] = None
    channel: Annotated[str | None, Meta(description="The board a mention was posted on.")] = None
    source: Annotated[
        str | None,
        Meta(
            description="For a message from outside (origin external): the webhook source it came "
            "in through (config.json webhooks.sources), where the answer goes back; null otherwise."
        ),
    ] = None


class ResponseSent(Event, frozen=True, kw_only=True, tag="response.sent"):
    """An anima answered a message. Its id is derived from the message id, so it exists once."""

    text: Annotated[str, Meta(description="The reply text.")]
    in_reply_to: Annotated[str, Meta(description="Id of the message being answered.")]
    to: Annotated[str, Meta(description="The sender of that message.")]
    thread_id: Annotated[str, Meta(description="The thread of that message.")]
    outcome: Annotated[ResponseOutcome, Meta(description="What kind of answer this is.")] = (
        ResponseOutcome.REPLY
    )
    model: Annotated[
        str | None, Meta(description="The model that produced the reply; null when none did.")
    ] = None
    notice: Annotated[
        str | None,
        Meta(description="A note for the reader about the answer, e.g. that a small local model wrote it."),
    ] = None
    deliver: Annotated[
        bool,
        Meta(
            description="True when the message answered was another anima's question: outbound "
            "delivers this answer to it as a 'reply' in the same thread, once."
        ),
    ] = False
    hops: Annotated[int, Meta(description="The hops of the message answered.")] = 0
    pair_depth: Annotated[int, Meta(description="The pair depth of the message answered.")] = 0
    source: Annotated[
        str | None,
        Meta(
            description="The webhook source of the message answered (set from that stored message, "
            "origin external): outbound posts this answer back to the platform, in the same thread, once."
        ),
    ] = None
