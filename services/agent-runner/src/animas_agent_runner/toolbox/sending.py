"""One way for a tool to send through outbound: build the request, publish it, read the verdict.

Every tool that reaches another anima or a board (send_message, post_channel, delegate_task,
report_task) goes through :func:`send`, so each gets the same hop accounting and the same
answer from outbound: delivered, refused with the reason (a tool error the model reads), or not
confirmed yet.
"""

from __future__ import annotations

from animas_agent_runner.domain import PRODUCER
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_contracts import MessageKind, OutboundKind, OutboundRequested, TaskLink


def chain_position(ctx: ToolContext, to: str) -> tuple[int, int]:
    """The hops and pair depth a message to ``to`` carries from this cycle.

    One more hop than the message that woke the anima; the pair depth grows only when the
    message goes back to the anima that wrote (the two are going back and forth).
    """
    back = ctx.reply_to_sender is not None and to == ctx.reply_to_sender
    return ctx.hops + 1, (ctx.pair_depth + 1 if back else 1)


def request_for(
    ctx: ToolContext,
    ordinal: int,
    kind: OutboundKind,
    to: str,
    text: str,
    *,
    intent: MessageKind = MessageKind.MESSAGE,
    task: TaskLink | None = None,
    attachments: list[str] | None = None,
    thread_id: str | None = None,
) -> OutboundRequested:
    """The request a tool call makes; its id is derived from the call, so a rerun asks once."""
    hops, pair_depth = chain_position(ctx, to) if kind is OutboundKind.MESSAGE else (ctx.hops, 0)
    return OutboundRequested(
        id=ctx.effect_id(ordinal, "outbound"),
        anima=ctx.anima,
        correlation_id=ctx.correlation_id,
        causation_id=ctx.cycle_id,
        producer=PRODUCER,
        kind=kind,
        to=to,
        text=text,
        thread_id=thread_id or ctx.thread_id,
        cycle_id=ctx.cycle_id,
        reply_to=ctx.reply_to if kind is OutboundKind.MESSAGE and to == ctx.reply_to_sender else None,
        attachments=list(attachments or []),
        intent=intent,
        hops=hops,
        pair_depth=pair_depth,
        task=task,
    )


async def send(ctx: ToolContext, request: OutboundRequested) -> bool | None:
    """Publish ``request`` and wait for outbound: True delivered, None not confirmed yet.

    Raises:
        ToolFailed: outbound refused it; the reason says why (nothing reached anyone).
    """
    label = request.to if request.kind is OutboundKind.MESSAGE else f"#{request.to}"
    if ctx.outbound is None:
        await ctx.publisher.publish(request)
        ctx.effects.messages_sent.append(label)
        return None
    verdict = await ctx.outbound.send(request, ctx.op_timeout_s)
    if verdict.delivered is False:
        raise ToolFailed(f"not delivered: {verdict.reason}")
    ctx.effects.messages_sent.append(label)
    return verdict.delivered
