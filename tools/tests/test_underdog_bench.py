"""The underdog benchmark end to end against the scripted LLM (the real local model is never loaded)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from tools.bench.underdog.chats import MESSAGES, have_three_chats
from tools.bench.underdog.distractors import distractors
from tools.bench.underdog.facts import Fact, is_correct, load_facts
from tools.bench.underdog.memory import build_memory
from tools.bench.underdog.model import ModelReply, OpenAIChat, wait_ready
from tools.bench.underdog.report import HEADING, development_keys, render, write_section
from tools.bench.underdog.run import WARMUP, UnderdogRun, borrowed_value, run_underdog

from animas_priming.adapters.embedder import SentenceTransformerEmbedder
from animas_priming.chunking import chunk_file
from animas_tools.scripted_llm import ScriptedLLM, Turn

KEYS = ("office-wifi", "backup-server", "tanaka-move", "outage-ticket")
"""Two knowledge facts and two episode facts."""
DONT_KNOW = "I do not know that."


class KnowsOnlyWhatItIsTold:
    """A model on the scripted server that answers right only when the fact is in its system prompt.

    Before each question the script is replaced by a turn that gives the answer, taken only by a
    request containing the fact's sentence, and a fallback that does not know.
    """

    def __init__(self, server: ScriptedLLM, facts: tuple[Fact, ...]) -> None:
        self.server = server
        self.by_question = {fact.question: fact for fact in facts}
        self.client = OpenAIChat(server.openai_base, "smollm2-135m-instruct")
        self.model = self.client.model

    def chat(self, system: str, user: str) -> ModelReply:
        fact = self.by_question.get(user)
        if fact is None:
            self.server.load([Turn(text="Hello.")])
        else:
            self.server.load([Turn(match=fact.text, text=f"I remember: {fact.text}"), Turn(text=DONT_KNOW)])
        return self.client.chat(system, user)


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def facts() -> tuple[Fact, ...]:
    by_key = {fact.key: fact for fact in load_facts()}
    return tuple(by_key[key] for key in KEYS)


def test_facts_are_many_specific_and_checked() -> None:
    facts = load_facts()
    assert len(facts) >= 30
    assert all(fact.confusers for fact in facts)
    assert is_correct("It is kestrel-7.", ("KESTREL-7",))
    assert not is_correct("It is KESTREL-2.", ("KESTREL-7",))


def test_memory_holds_each_fact_once_among_distractors_that_never_answer() -> None:
    facts = load_facts()
    noise = distractors(facts, 420)
    assert len({d.text for d in noise}) == 420
    assert not any(is_correct(d.text, fact.answers) for d in noise for fact in facts)
    files = build_memory(facts, today=date(2026, 11, 25))
    assert files == build_memory(facts, today=date(2026, 11, 25))  # deterministic
    everything = "\n".join(files.values())
    assert all(everything.count(fact.text) == 1 for fact in facts)
    episodes = [path for path in files if path.startswith("episodes/")]
    assert episodes and all(files[path].startswith(f"# {path[9:19]} Action Log\n") for path in episodes)
    assert all(files[path].startswith("---\ncreated: ") for path in files if path.startswith("knowledge/"))
    chunks = sum(len(chunk_file("hinata", path, text)) for path, text in files.items())
    assert chunks > 500


@pytest.mark.slow
async def test_priming_lets_the_scripted_model_answer(
    embedder: SentenceTransformerEmbedder, facts: tuple[Fact, ...], tmp_path: Path
) -> None:
    with ScriptedLLM() as server:
        model = KnowsOnlyWhatItIsTold(server, facts)
        run = await run_underdog(
            facts, model, base_url=server.openai_base, distractor_count=60, embedder=embedder, progress=False
        )
        requests = server.requests
    assert [r.fact.key for r in run.results] == list(KEYS)
    assert all(r.fact_in_prompt for r in run.results)
    assert run.correct(True) == len(KEYS)
    assert run.correct(False) == 0
    assert all(r.unprimed.reply == DONT_KNOW for r in run.results)
    assert len(requests) == 1 + 2 * len(KEYS)
    first = requests[0]["body"]
    assert first["messages"][1]["content"] == WARMUP
    for request in requests:
        body = request["body"]
        assert (body["temperature"], body["max_tokens"], body["stream"]) == (0, 48, False)
        assert body["model"] == "smollm2-135m-instruct"
    primed, unprimed = (
        requests[1]["body"]["messages"][0]["content"],
        requests[2]["body"]["messages"][0]["content"],
    )
    assert primed.startswith("What you remember:") and "BLUE-42" in primed
    assert "What you remember" not in unprimed and unprimed.startswith("You are hinata, an AI assistant")

    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\nIntro.\n\n## Recall on LoCoMo\n\nRecall numbers.\n", encoding="utf-8")
    section = render(run, ["python tools/bench/underdog_bench.py"])
    assert "with priming: 4/4 (100%); without priming: 0/4 (0%)" in section
    # backup-server and office-wifi are among the first 18 questions, the episode facts are not.
    assert "with priming 2/2 on the development half, 2/2 on the held-back half" in section
    write_section(output, section)
    once = output.read_text(encoding="utf-8")
    assert once.startswith("# Benchmarks\n\nIntro.\n\n## Recall on LoCoMo\n\nRecall numbers.\n\n" + HEADING)
    write_section(output, section)
    assert output.read_text(encoding="utf-8") == once  # idempotent
    run.results = run.results[:2]
    write_section(output, render(run, ["python tools/bench/underdog_bench.py --limit 2"]))
    again = output.read_text(encoding="utf-8")
    assert again.count(HEADING) == 1 and "with priming: 2/2" in again and "4/4" not in again
    assert again.startswith("# Benchmarks\n\nIntro.\n\n## Recall on LoCoMo\n\nRecall numbers.\n")


def test_the_development_half_is_the_first_18_questions_of_facts_json() -> None:
    facts = load_facts()
    assert development_keys() == {fact.key for fact in facts[:18]}
    assert "backup-server" in development_keys() and facts[-1].key not in development_keys()


def test_a_section_in_the_middle_keeps_what_follows(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# Benchmarks\n\n{HEADING}\n\nOLD-CONTENT\n\n## Later\n\nkept\n", encoding="utf-8")
    run = UnderdogRun(started=datetime(2026, 11, 25, tzinfo=UTC), model="m", base_url="http://x/v1")
    write_section(output, render(run, ["cmd"]))
    text = output.read_text(encoding="utf-8")
    assert "OLD-CONTENT" not in text and text.endswith("\n## Later\n\nkept\n") and text.count(HEADING) == 1


def test_wait_ready_fails_fast_when_the_server_exits(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    with pytest.raises(RuntimeError, match="exited with status 3"):
        wait_ready("http://127.0.0.1:9", process, timeout_s=5)


def test_a_wrong_reply_is_told_borrowed_or_made_up() -> None:
    system = "- The staging server is called HERON-3.\n- 11:43 Fleet**"
    assert borrowed_value("The backup server is called HERON-3.", system, "What is the backup server called?")
    assert borrowed_value("It is 11:43.", system, "What is the fleet number?")
    assert not borrowed_value(
        "The backup server is called Sabir.", system, "What is the backup server called?"
    )


class EchoingSystem:
    """The system as the three chats reach it: replies from a script, the CLI calls recorded."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.sent: list[tuple[str, str, str, str]] = []
        self.commands: list[tuple[str, ...]] = []

    def chat(self, anima: str, message: str, sender: str, thread_id: str) -> dict[str, Any]:
        self.sent.append((anima, message, sender, thread_id))
        return {"reply": self.replies.pop(0), "outcome": "reply"}

    def cli(self, *args: str) -> str:
        self.commands.append(args)
        return ""


def test_three_chats_in_one_thread_are_checked_for_loops_and_recall() -> None:
    loop = "I'm designed to be helpful, and I'm designed to be helpful. " * 3
    system = EchoingSystem(["Hi, I am Aoi.", loop, "Your favourite colour is teal."])
    chats = have_three_chats(system, up_s=12.5)
    assert system.commands == [("create", "aoi", "--template", "general")]
    assert [m for _, m, _, _ in system.sent] == list(MESSAGES) and len({t for *_, t in system.sent}) == 1
    assert [c.degenerate for c in chats.chats] == [False, True, False]
    assert chats.degenerate == 1 and chats.recalled
    # The same paragraph again in the next chat is an echo, though neither reply loops within itself.
    said = "Hello! I'm a friendly AI assistant, and I'm here to help with any questions or problems you face."
    echoed = have_three_chats(EchoingSystem([said, f"I'm glad to hear that. {said}", "Teal."]), up_s=1.0)
    assert [c.degenerate for c in echoed.chats] == [False, True, False]

    run = UnderdogRun(started=datetime(2026, 11, 25, tzinfo=UTC), model="m", base_url="http://x/v1")
    run.chats = chats
    section = render(run, ["cmd"])
    assert "**degenerate replies: 1/3**" in section and "the last reply holds what the second" in section
    assert "| What is my favourite colour? | Your favourite colour is teal. |" in section
