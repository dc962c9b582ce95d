"""Message type classification, English and Japanese (seed 004 message-type budgets)."""

from __future__ import annotations

import time

import pytest

from animas_priming.domain.message_types import SHORT_CHARS, MessageType, classify

G, Q, R = MessageType.GREETING, MessageType.QUESTION, MessageType.REQUEST

ENGLISH = [
    ("hi", G),
    ("hello!", G),
    ("Hey there 👋", G),
    ("good morning, Tanaka-san", G),
    ("Thanks so much, Bob!", G),
    ("thank you!!", G),
    ("@sato good night", G),
    ("What's up?", G),
    # "hi" as a substring, or a greeting in front of real content, is not a greeting.
    ("this is it", R),
    ("hi, can you deploy the build?", R),
    ("hello, what's the status of X?", Q),
    ("Good morning! Can you check the logs?", R),
    ("Hi Bob can you check the logs", R),
    ("Thanks, and please send the invoice too.", R),
    # Questions: interrogatives, auxiliaries, and a bare question mark.
    ("Why?", Q),
    ("Is the server up?", Q),
    ("Do you know where the config lives?", Q),
    ("Quick question: how do we deploy?", Q),
    ("I deployed the build. Is that OK?", Q),
    ("The build?", Q),
    ("Update is live?", Q),
    ("Can you tell me the status?", Q),
    ("Can I ask something?", Q),
    ("tell me about the Kyoto project", Q),
    # Requests: imperatives, "please", polite questions that ask for work.
    ("could you send the report?", R),
    ("Would you mind reviewing my PR?", R),
    ("Deploy!", R),
    ("Fix the login bug.", R),
    ("Review PR #42 please", R),
    ("reply to Sato about the invoice", R),
    ("write a summary of yesterday's incident", R),
    ("I'd like you to write the summary", R),
    ("Let's ship it", R),
    ("Don't deploy on Friday", R),
    ("What do you think? Please review the PR.", R),
    # Nothing to go on: a request (the budget that never under-primes).
    ("The server is down.", R),
]

JAPANESE = [
    ("おはようございます", G),
    ("こんにちは！", G),
    ("お疲れ様です", G),
    ("田中さん、おはようございます！", G),
    ("いつもありがとうございます😊", G),
    ("了解です", G),
    ("よろしくお願いします", G),
    ("ｻﾝｷｭｰ!", G),  # half-width katakana, folded by NFKC
    ("明日の会議は何時からですか？", Q),
    ("会議はいつ", Q),
    ("なぜ失敗したのでしょうか", Q),
    ("どうすればいいの？", Q),
    ("送りましょうか？", Q),
    ("明日は雨かな", Q),
    ("使い方を教えてください", Q),
    ("資料を送ってください", R),
    ("資料の送付をよろしくお願いします", R),
    ("確認してね", R),
    ("レビューしてほしい", R),
    ("この件、頼む", R),
    ("送ってもらえますか？", R),
    ("PRをreviewしてください", R),
    ("本番にデプロイして下さい", R),
    ("心配しないで", R),
    ("お疲れ様です。明日の資料を送ってください。", R),
    ("ぶどうを買った", R),  # "どう" inside a word is not "how"
    ("サーバーが落ちています", R),
    ("原因について", R),  # "について" is a particle, not a te-form request
]


@pytest.mark.parametrize(("text", "expected"), ENGLISH)
def test_english(text: str, expected: MessageType) -> None:
    assert classify(text, trigger="chat") is expected


@pytest.mark.parametrize(("text", "expected"), JAPANESE)
def test_japanese(text: str, expected: MessageType) -> None:
    assert classify(text, trigger="chat") is expected


def test_the_tables_are_big_enough() -> None:
    assert len(ENGLISH) >= 20
    assert len(JAPANESE) >= 15


@pytest.mark.parametrize("text", ["", "hi", "資料を送ってください", "What is this?"])
def test_heartbeat_is_the_trigger_not_the_text(text: str) -> None:
    assert classify(text, trigger="heartbeat") is MessageType.HEARTBEAT


@pytest.mark.parametrize(
    "trigger", ["cron", "cron:daily", "Heartbeat", "heartbeat:x", "inbox", "consolidation"]
)
def test_other_triggers_are_classified_from_their_text(trigger: str) -> None:
    assert classify("heartbeat", trigger=trigger) is not MessageType.HEARTBEAT
    assert classify("おはようございます", trigger=trigger) is MessageType.GREETING


def test_full_width_question_mark_counts() -> None:
    assert classify("明日？", trigger="chat") is MessageType.QUESTION
    assert classify("tomorrow？", trigger="chat") is MessageType.QUESTION


def test_a_long_message_ending_in_a_question_mark_is_not_automatically_a_question() -> None:
    statement = "I merged the migration and the dashboards look fine after the rollout " * 3 + "right?"
    assert len(statement) > SHORT_CHARS
    assert classify(statement, trigger="chat") is MessageType.REQUEST


def test_a_long_greeting_is_no_longer_just_a_greeting() -> None:
    assert classify("hello " * 20, trigger="chat") is not MessageType.GREETING


@pytest.mark.parametrize(
    "text",
    [
        "bye " * 14 + "x",
        "A" * 58 + " x",
        "田中さん" * 14 + "x",
        "Bob, " * 2000,
        "あ" * 20_000,
        "word " * 5000 + "?",
    ],
)
def test_adversarial_input_is_classified_quickly(text: str) -> None:
    start = time.perf_counter()
    classify(text, trigger="chat")
    assert time.perf_counter() - start < 0.5
