"""The loop guards and the degenerate-reply check, pure: n-gram bans, stop sequences, loops."""

from __future__ import annotations

from collections.abc import Iterator

from animas_local_llm.decoding import banned_next_tokens, cut_at_stop
from animas_local_llm.degenerate import is_degenerate, repeated_span

LOOP = "I'm designed to be a friendly AI, and I'm designed to be helpful. " * 4


def test_the_token_that_would_repeat_an_ngram_of_the_reply_is_banned() -> None:
    # 7 8 9 was said; the reply now ends in 7 8, so 9 may not follow again (n = 3).
    assert banned_next_tokens([7, 8, 9, 4, 7, 8], 3) == {9}
    assert banned_next_tokens([7, 8, 9, 7, 8, 5, 7, 8], 3) == {9, 5}
    assert banned_next_tokens([7, 8, 9, 4], 3) == set()
    assert banned_next_tokens([7], 3) == set() and banned_next_tokens([1, 2, 3], 0) == set()


class Pieces:
    """The model's text pieces; records how many were pulled and whether it was closed."""

    def __init__(self, *pieces: str) -> None:
        self.pieces = pieces
        self.pulled = 0
        self.closed = False

    def __iter__(self) -> Iterator[str]:
        try:
            for piece in self.pieces:
                self.pulled += 1
                yield piece
        finally:
            self.closed = True


def test_the_reply_ends_before_a_stop_sequence_split_across_pieces_and_the_model_stops() -> None:
    source = Pieces("Teal is", " your colour.", "\nUs", "er: and mine?", " never pulled")
    out = list(cut_at_stop(source, ["\nUser:"]))
    assert "".join(out) == "Teal is your colour."
    assert "\nUs" not in "".join(out) and source.pulled == 4 and source.closed


def test_text_that_only_looks_like_the_start_of_a_stop_sequence_is_sent() -> None:
    assert "".join(cut_at_stop(Pieces("a\nU", "sually fine"), ["\nUser:"])) == "a\nUsually fine"
    assert "".join(cut_at_stop(Pieces("no stops"), [])) == "no stops"


def test_a_reader_that_stops_early_closes_the_model() -> None:
    source = Pieces("one ", "two ", "three")
    cut = cut_at_stop(source, ["\nUser:"])
    assert next(cut) == "one "
    cut.close()
    assert source.closed


def test_a_loop_is_degenerate_and_an_answer_is_not() -> None:
    assert repeated_span(LOOP) == "i m designed to be a"
    assert is_degenerate(LOOP)
    assert not is_degenerate("The backup server is KESTREL-7. It runs the nightly backup of KESTREL-7.")
    # Twice is a coincidence in a finished reply, a loop in one the token cap cut.
    twice = "I'm glad to have you here. I'm glad to have you here."
    assert not is_degenerate(twice) and is_degenerate(twice, truncated=True)
