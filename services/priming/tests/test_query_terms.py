"""The keyword side's query terms: English function words out, everything else kept."""

from __future__ import annotations

from animas_priming.chunking import search_terms
from animas_priming.domain.query_terms import STOP_WORDS, content_terms


def test_function_words_leave_and_the_subject_stays() -> None:
    terms = search_terms("When did Caroline go to the LGBTQ support group?")
    assert content_terms(terms) == ["Caroline", "go", "LGBTQ", "support", "group"]


def test_matching_ignores_case_but_keeps_the_terms_as_written() -> None:
    assert content_terms(["What", "IS", "Melanie", "painting"]) == ["Melanie", "painting"]


def test_contraction_pieces_are_function_words() -> None:
    assert content_terms(search_terms("Why didn't she call? I'd've known")) == ["call", "known"]


def test_cjk_terms_and_other_scripts_pass_untouched() -> None:
    terms = search_terms("田中さんの Slack の設定 is Привет")
    assert content_terms(terms) == [term for term in terms if term != "is"]
    assert "田中" in content_terms(terms) and "Привет" in content_terms(terms)


def test_a_query_of_function_words_only_keeps_them_all() -> None:
    assert content_terms(["what", "did", "you", "do"]) == ["what", "did", "you", "do"]
    assert content_terms([]) == []


def test_content_words_that_merely_look_common_are_not_on_the_list() -> None:
    assert not STOP_WORDS & {"time", "new", "like", "work", "family", "first", "last", "year"}
