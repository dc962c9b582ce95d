"""The tiny-model prompt: memories first, short, within its budget."""

from __future__ import annotations

from animas_agent_runner.prompt import count_tokens
from animas_agent_runner.prompt.tiny import build_tiny_prompt, tiny_recall

IDENTITY = "# Identity: clerk\n\nA careful office clerk who keeps records.\n\n## Strengths\n- precise\n"


def test_memories_come_first_then_identity_then_the_instruction() -> None:
    prompt = build_tiny_prompt(
        anima="clerk",
        identity=IDENTITY,
        recalled="## Related knowledge\n- The office wifi password is BLUE-42\n",
    )
    assert prompt.text == (
        "What you remember:\n- The office wifi password is BLUE-42\n\n"
        "You are clerk, an AI assistant working with a team. A careful office clerk who keeps records."
        " precise.\n\n"
        "Answer the message in one or two short sentences. "
        "If a memory above answers it, use that memory's exact words for names, numbers and codes."
    )
    assert "Strengths" not in prompt.text
    assert prompt.memories_kept == 1 and prompt.tokens == count_tokens(prompt.text)


def test_without_memories_there_is_no_memory_block() -> None:
    prompt = build_tiny_prompt(anima="clerk", identity=IDENTITY, recalled="")
    assert prompt.text.startswith("You are clerk, an AI assistant") and prompt.memories_kept == 0


def test_the_budget_cuts_memories_not_the_instruction() -> None:
    recalled = "\n".join(f"- fact number {n} is about topic {n}" for n in range(500))
    prompt = build_tiny_prompt(anima="clerk", identity=IDENTITY, recalled=recalled, budget=200)
    assert prompt.tokens <= 200 and 0 < prompt.memories_kept < 500
    assert prompt.text.endswith("use that memory's exact words for names, numbers and codes.")


def test_primed_items_become_one_plain_line_each() -> None:
    recalled = (
        "## Related knowledge\n"
        "- **Backup server**\n"
        "  - The backup server is called KESTREL-7 (knowledge/infra.md, 2026-11-02)\n"
        "- **11:29 Worked on the invoice**\n"
        "  - Trigger: Heartbeat\n"
        "  - Decision: sent the invoice to Sato-san\n"
        "  - Lesson: None (episodes/2026-11-20.md, 2026-11-20)\n"
    )
    prompt = build_tiny_prompt(anima="clerk", identity=IDENTITY, recalled=recalled)
    assert prompt.text.startswith(
        "What you remember:\n- Backup server: The backup server is called KESTREL-7\n"
        "- Worked on the invoice\n"
    )
    assert "**" not in prompt.text and "knowledge/infra.md" not in prompt.text and "11:29" not in prompt.text
    # An episode's trigger and decision stay out: the model copied "Trigger: Heartbeat" as a codename.
    assert "Heartbeat" not in prompt.text and "Sato-san" not in prompt.text


def test_an_episode_keeps_what_was_said_and_its_result() -> None:
    recalled = (
        "## Similar past episodes\n"
        "- **Printers**\n"
        "  - Trigger: Message received (from human)\n"
        "  - Decision: Checked the request against the records and answered it\n"
        "  - Result: The printer in the cold room is named BEAVER.\n"
        "  - Lesson: Check the floor first (episodes/2026-11-20.md, 2026-11-20)\n"
    )
    prompt = build_tiny_prompt(anima="clerk", identity="", recalled=recalled)
    assert (
        "- Printers: Result: The printer in the cold room is named BEAVER.; Lesson: Check the floor first\n"
        in prompt.text
    )
    assert "Trigger" not in prompt.text and "Decision" not in prompt.text


def test_related_knowledge_comes_before_recent_activity_in_a_tiny_prompt() -> None:
    sections = {
        "A": "## About yamada\n- yamada is the client contact.",
        "B": "## Recent activity\n" + "\n".join(f"- chatted about item {n}" for n in range(80)),
        "C": "## Related knowledge\n- Kobe shipments always go to Warehouse 7.",
    }
    recalled = tiny_recall(sections)
    assert recalled.index("Warehouse 7") < recalled.index("yamada") < recalled.index("item 0")

    prompt = build_tiny_prompt(anima="clerk", identity="", recalled=recalled)
    assert "Warehouse 7" in prompt.text and "item 79" not in prompt.text


def test_the_animas_own_earlier_replies_stay_out_and_the_persons_words_stay_in() -> None:
    recalled = (
        "## Similar past episodes\n"
        "- **10:02 Reply to human**\n"
        "  - Said: My favourite colour is teal.\n"
        "  - Result: Replied: Hello! I'm a friendly AI assistant, here to help. (episodes/2026-12-07.md)\n"
        "\n## Recent activity\n"
        "- 10:02 response_sent human: Hello! I'm a friendly AI assistant, here to help.\n"
        "- 10:01 message_received human: Hello! Who are you?\n"
    )
    prompt = build_tiny_prompt(anima="clerk", identity=IDENTITY, recalled=recalled)
    assert "Reply to human: Said: My favourite colour is teal." in prompt.text
    assert "message_received human: Hello! Who are you?" in prompt.text
    assert "friendly AI assistant" not in prompt.text
