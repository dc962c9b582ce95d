"""Sections 18–24 (seed 003 §10): how the anima works, whom it works with, how it reaches them."""

from __future__ import annotations

from animas_agent_runner.prompt.inputs import OrgMember, PromptInputs, PromptTrigger
from animas_agent_runner.prompt.markdown import heading
from animas_agent_runner.prompt.policy import RenderContext
from animas_agent_runner.prompt.templates import render

EMOTIONS = ("neutral", "smile", "laugh", "thinking", "surprised", "troubled", "embarrassed", "sad")
"""The expressions an answer may end with, as ``<!-- emotion: NAME -->`` (section 19)."""

HUMAN_NOTIFY_TOOL = "notify_human"
"""The tool the human-notification guidance names (section 24)."""

_FINAL_ANSWER_NOTES = {
    PromptTrigger.CHAT: "Your final answer goes to the person who wrote to you, and to no one else.",
    PromptTrigger.INBOX: (
        "The anima that wrote to you asked something: your final answer is delivered to it as your "
        "reply, in this thread, and to no one else. Do not also send it with `send_message`."
    ),
    PromptTrigger.HEARTBEAT: (
        "No one wrote to you: your final answer is only kept in your activity log. "
        "Whatever someone must see has to be sent."
    ),
    PromptTrigger.CRON: (
        "No one wrote to you: your final answer is only kept in your activity log. "
        "Whatever someone must see has to be sent."
    ),
    PromptTrigger.TASK: (
        "Finish the task with `report_task` (done, failed or blocked, and a summary): the report "
        "goes to the anima that delegated it. If you end without it, your final answer is sent "
        "as your report."
    ),
}


_NOT_ANSWERED = (
    "Your final answer is kept in your activity log and goes to no one: if you need to write back, "
    "or pass something on, use `send_message`."
)
_INBOX_NOTES = {
    "reply": f"This is an answer to something you asked. {_NOT_ANSWERED}",
    "report": f"This is a report on a task you delegated. {_NOT_ANSWERED}",
    "mention": (
        "You were mentioned on a board. Your final answer goes to no one: answer on the board with "
        "`post_channel`, or write to the poster with `send_message`."
    ),
}


def final_answer_note(inputs: PromptInputs) -> str:
    """Where this cycle's final answer goes: the one rule the messaging section states."""
    if inputs.answers_to is not None:
        return (
            f"{inputs.answers_to} asked you something: your final answer is delivered to "
            f"{inputs.answers_to} as your reply, in this thread, and to no one else. Do not also send "
            "it with `send_message`."
        )
    if inputs.trigger is PromptTrigger.INBOX and inputs.message_kind in _INBOX_NOTES:
        return _INBOX_NOTES[inputs.message_kind]
    return _FINAL_ANSWER_NOTES[inputs.trigger]


def _is_tool_loop(inputs: PromptInputs) -> bool:
    return inputs.mode != "assisted"


def tool_loop_reflection(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """18. Self-checking between tool calls, for the tool-loop modes (seed 003's A2 reflection)."""
    return render("tool_loop_reflection") if _is_tool_loop(inputs) else None


def assisted_mode(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """18 (assisted). What the framework does around a one-shot answer, in place of tools."""
    return None if _is_tool_loop(inputs) else render("assisted_mode")


def emotion(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """19. The expression line the UI shows as the anima's face."""
    return render("emotion", emotions=", ".join(f"`{name}`" for name in EMOTIONS))


def _alone(inputs: PromptInputs) -> bool:
    return inputs.supervisor is None and not inputs.subordinates and not inputs.peers


def hiring_context(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """20. What to do about being the only anima, only while no other anima exists."""
    return render("hiring_context") if _alone(inputs) else None


def behaviour_rules(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """21. Recall before deciding, record after acting: the rule archive-based memory rests on."""
    return render("behaviour_rules", today=inputs.now.date().isoformat())


def _member(member: OrgMember) -> str:
    return f"**{member.name}** ({member.role})" if member.role else f"**{member.name}**"


def org_context(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """22. The anima's place in the organization: supervisor, subordinates, peers."""
    if _alone(inputs):
        return None
    lines = [
        f"- You report to **{inputs.supervisor}**."
        if inputs.supervisor
        else "- You report to no anima: the humans who run the organization are your supervisors."
    ]
    if inputs.subordinates:
        lines.append("- Reporting to you: " + ", ".join(_member(m) for m in inputs.subordinates) + ".")
    if inputs.peers:
        lines.append("- Your peers: " + ", ".join(_member(m) for m in inputs.peers) + ".")
    return heading("Your organization", "\n".join(lines))


def _contacts(inputs: PromptInputs) -> list[str]:
    contacts = [f"- **{inputs.supervisor}**: your supervisor"] if inputs.supervisor else []
    for relation, members in (("reports to you", inputs.subordinates), ("your peer", inputs.peers)):
        for member in members:
            role = f", {member.role}" if member.role else ""
            contacts.append(f"- **{member.name}**: {relation}{role}")
    return contacts


def messaging(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """23. How to reach other animas, and where a final answer goes for this trigger."""
    contacts = _contacts(inputs)
    if not contacts:
        return None
    return render(
        "messaging",
        contacts="\n".join(contacts),
        final_answer_note=final_answer_note(inputs),
    )


def human_notification(inputs: PromptInputs, ctx: RenderContext) -> str | None:
    """24. When to tell humans: only a top-level anima with notifications enabled."""
    # The notification tool arrives with external delivery; until an anima has it, the section
    # would point at a tool it cannot call.
    if (
        inputs.supervisor is not None
        or not inputs.human_notifications
        or HUMAN_NOTIFY_TOOL not in inputs.tool_names
    ):
        return None
    return render("human_notification", tool=HUMAN_NOTIFY_TOOL)
