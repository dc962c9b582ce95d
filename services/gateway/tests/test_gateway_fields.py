"""Field checks: what may reach an anima's files, and what is refused with the reason."""

from __future__ import annotations

import pytest

from animas_gateway import fields

# Every way a line can end for some reader (str.splitlines, Markdown, editors), and other controls.
LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
OTHER_CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\u202e", "\u2066"]


@pytest.mark.parametrize("char", LINE_BREAKS + OTHER_CONTROLS + ["\t"])
def test_a_one_line_field_refuses_line_breaks_and_control_characters(char: str) -> None:
    with pytest.raises(fields.FieldError, match=f"U\\+{ord(char[0]):04X} at character 3"):
        fields.one_line("sender", f"eve{char}## Injected", 200)


@pytest.mark.parametrize("value", ["tanaka", "Tanaka Hanako", "田中", "ops-bot #2", "a" * 200])
def test_a_one_line_field_keeps_ordinary_names(value: str) -> None:
    assert fields.one_line("sender", value, 200) == value


def test_a_one_line_field_names_its_limit() -> None:
    with pytest.raises(fields.FieldError, match="'sender' is longer than 200 characters"):
        fields.one_line("sender", "a" * 201, 200)
    with pytest.raises(fields.FieldError, match="must not be empty"):
        fields.one_line("sender", "   ", 200)


@pytest.mark.parametrize("char", ["\r", "\x00", "\x0b", "\x85", "\u2028", "\u202e"])
def test_text_refuses_controls_other_than_line_ends_and_tabs(char: str) -> None:
    with pytest.raises(fields.FieldError, match="control character"):
        fields.text("content", f"# Identity\n{char}## Injected\n")


def test_text_keeps_lines_tabs_and_windows_line_ends() -> None:
    value = "# Identity: tanaka\r\n\n## Personality Traits\n\t- careful\n"
    assert fields.text("content", value) == value


def test_text_limits_count_characters_or_utf8_bytes() -> None:
    assert fields.text("content", "あ" * 10, max_chars=10)
    with pytest.raises(fields.FieldError, match="larger than 29 bytes of UTF-8"):
        fields.text("content", "あ" * 10, max_bytes=29)  # 30 bytes
    with pytest.raises(fields.FieldError, match="longer than 9 characters"):
        fields.text("content", "あ" * 10, max_chars=9)


@pytest.mark.parametrize(
    "name",
    [
        "openai/gpt-4o-mini",
        "anthropic/claude-sonnet-4-5",
        "ollama/llama3.2:3b",
        "openrouter/meta-llama/llama-3-70b-instruct",
        "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
        "claude-sonnet-4-5",
        "openai/scripted",
    ],
)
def test_model_names_as_litellm_writes_them_pass(name: str) -> None:
    assert fields.model_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "gpt-4o",  # bare names other than Claude's need their provider
        "openai/",
        "/gpt-4o",
        "openai/gpt 4o",
        "openai/gpt-4o\n## Injected",
        "openai/gpt-4o\u2028",
        "../../etc/passwd",
        "openai/" + "x" * 200,
        "OpenAI/gpt-4o",
    ],
)
def test_anything_else_is_not_a_model_name(name: str) -> None:
    with pytest.raises(fields.FieldError, match="is not a model name"):
        fields.model_name(name)


def test_thread_ids_are_short_plain_tokens() -> None:
    assert fields.thread_id("0191e0c4-7d2a-7cc1-9a0b-1c2d3e4f5a6b", 128)
    assert fields.thread_id("support:ticket.42_a", 128)
    with pytest.raises(fields.FieldError, match="longer than 128 characters"):
        fields.thread_id("t" * 129, 128)
    for bad in ("../x", "a/b", "a b", "a\nb", "", "-leading"):
        with pytest.raises(fields.FieldError, match="may hold only"):
            fields.thread_id(bad, 128)


def test_idempotency_keys_are_bounded_printable_ascii() -> None:
    for good in ("0191e0c4-7d2a-7cc1-9a0b-1c2d3e4f5a6b", "b64+/=", "k", "a" * 128):
        assert fields.idempotency_key("Idempotency-Key", good) == good
    with pytest.raises(fields.FieldError, match="longer than 128"):
        fields.idempotency_key("Idempotency-Key", "a" * 129)
    for bad in ("", "a b", "ключ", "a\nb", 'a"b'):
        with pytest.raises(fields.FieldError, match="must be 1 to 128 characters"):
            fields.idempotency_key("Idempotency-Key", bad)
