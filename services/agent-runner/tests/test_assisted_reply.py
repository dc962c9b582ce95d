"""Reading an assisted model's structured reply: JSON found among prose, escapes respected."""

from __future__ import annotations

import pytest

from animas_agent_runner.modes.assisted import parse_reply


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ('{"reply": "Hello."}', "Hello."),
        ('Sure!\n```json\n{"reply": "Fenced."}\n```', "Fenced."),
        ('{"reply": "a \\"}\\" b"}', 'a "}" b'),
        ('{"reply": "ends in a backslash \\\\"}', "ends in a backslash \\"),
        ('Here you are: {"reply": "use {braces} freely", "lesson": ""} done', "use {braces} freely"),
    ],
)
def test_the_first_json_object_is_the_reply(text: str, reply: str) -> None:
    parsed = parse_reply(text)
    assert parsed.problem is None and parsed.reply.reply == reply


def test_prose_without_json_is_a_plain_reply_with_the_problem_named() -> None:
    parsed = parse_reply("Just words.")
    assert parsed.reply.reply == "Just words." and parsed.problem == "no JSON object in the reply"
