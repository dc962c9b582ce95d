"""Which of a query's terms the keyword side of a search should look for.

A question is mostly function words ("when did she go to the ..."). BM25 gives each of them a
real weight, because in conversational memory they are not rare enough to be ignored: a turn
that shares "did", "the" and "to" with the question outranks the one that shares its subject.
Leaving them out of the keyword query leaves the content words to decide. Only English words
are dropped; CJK terms (Japanese words, Hangul bigrams) and words of other scripts pass untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

# Our own list: English function words that carry no subject of their own (articles, pronouns,
# auxiliaries, prepositions, conjunctions, question words, and the pieces a tokenizer leaves of
# contractions such as "don't" → "don", "t"). Content words that merely look common (e.g. "time",
# "like", "new") are kept: a question about "a new job" needs them.
_FUNCTION_WORDS = """
    a an the this that these those
    i me my mine myself we us our ours ourselves you your yours yourself yourselves
    he him his himself she her hers herself it its itself they them their theirs themselves
    who whom whose which what when where why how
    am is are was were be been being have has had having do does did doing done
    will would shall should can could may might must ought
    and or but nor so yet if then than because as while until unless though although
    of at by for with about against between into through during before after above below
    to from up down in out on off over under again further once
    here there all any both each few more most other some such no not only own same too very
    just also ever
    s t d ll m o re ve y don doesn didn isn aren wasn weren hasn haven hadn won wouldn
    shouldn couldn mustn can cannot ain
"""
STOP_WORDS = frozenset(_FUNCTION_WORDS.split())
"""English function words left out of keyword queries (matched case-insensitively)."""


def content_terms(terms: Sequence[str]) -> list[str]:
    """``terms`` without English function words; all of ``terms`` when nothing else is left.

    A query made only of function words ("what did you do?") is still a query: falling back to
    every term keeps the keyword side from going silent.

    Args:
        terms: A query's search terms, e.g. :func:`animas_priming.chunking.search_terms`.

    Returns:
        The kept terms, in their order.
    """
    kept = [term for term in terms if term.casefold() not in STOP_WORDS]
    return kept or list(terms)
