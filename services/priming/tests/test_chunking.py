"""Cutting memory files into chunks: sections, metadata, links, and the terms keyword search uses."""

from __future__ import annotations

import pytest

from animas_priming.chunking import MAX_SECTION_CHARS, chunk_file, cjk_terms, heading_matcher, search_terms

SEED_EPISODE = """# 2026-02-12 Action Log

## 09:15 Chatwork Unreplied Check
- Trigger: Heartbeat
- Decision: Found 2 unreplied messages. Handle internal ones myself, escalate external ones
- Result: Drafted replies and obtained approval
- Lesson: None

## 14:30 Reply to Tanaka-san
- Trigger: Message received
- Decision: Recalled previous rejection for casual tone → drafted formal version
- Result: Approved
- Lesson: Reconfirmed that the approach for the construction industry is correct
"""

SEED_KNOWLEDGE = """# Response Guidelines

## Communication Rules
- [IMPORTANT] Always respond with formal business language
- Casual tone is not acceptable (rejected on 2026-02-11)
- The construction industry values formal communication

## Contacts
- Primary contact: Tanaka-san
"""


def test_a_seed_episode_gives_one_chunk_per_entry() -> None:
    chunks = chunk_file("alice", "episodes/2026-02-12.md", SEED_EPISODE)
    assert [c.heading for c in chunks] == ["09:15 Chatwork Unreplied Check", "14:30 Reply to Tanaka-san"]
    assert [c.chunk_id for c in chunks] == ["episodes/2026-02-12.md#0", "episodes/2026-02-12.md#1"]
    assert {c.date for c in chunks} == {"2026-02-12"}
    assert {(c.anima, c.path, c.memory_type, c.trust) for c in chunks} == {
        ("alice", "episodes/2026-02-12.md", "episodes", "own")
    }
    assert chunks[0].text.startswith("## 09:15 Chatwork Unreplied Check\n- Trigger: Heartbeat")
    assert chunks[0].text.endswith("- Lesson: None")
    assert "Tanaka" not in chunks[0].text


def test_sections_split_at_every_heading_level() -> None:
    text = "Intro line.\n# One\nfirst\n### Three\nthird\n###### Six\nsixth\n####### seven is not a heading\n"
    chunks = chunk_file("a", "knowledge/x.md", text)
    assert [c.heading for c in chunks] == ["", "One", "Three", "Six"]
    assert [c.text for c in chunks] == [
        "Intro line.",
        "# One\nfirst",
        "### Three\nthird",
        "###### Six\nsixth\n####### seven is not a heading",
    ]


def test_heading_details() -> None:
    text = "## Closing hashes ##\nbody\n#hashtag is text\n   # indented three\nbody\n```\n# in a fence\n```\n"
    chunks = chunk_file("a", "knowledge/x.md", text)
    assert [c.heading for c in chunks] == ["Closing hashes", "indented three"]
    assert "#hashtag is text" in chunks[0].text
    assert "# in a fence" in chunks[1].text


def test_a_file_without_headings_is_one_chunk() -> None:
    chunks = chunk_file("a", "procedures/x.md", "Step one.\n\nStep two.\n")
    assert [(c.heading, c.text) for c in chunks] == [("", "Step one.\n\nStep two.")]


def test_empty_sections_and_files_give_no_chunks() -> None:
    assert [
        c.heading for c in chunk_file("a", "knowledge/x.md", "# Title\n\n## Empty\n\n## Full\ntext\n")
    ] == ["Full"]
    assert chunk_file("a", "knowledge/x.md", "") == []
    assert chunk_file("a", "knowledge/x.md", "---\nupdated: 2026-01-01\n---\n\n") == []


def test_frontmatter_is_stripped_and_gives_the_date() -> None:
    text = (
        "---\ntitle: Contacts\nupdated: '2026-02-11T09:00:00+09:00'\ncreated: 2025-12-01\n---\n"
        "# Contacts\nTanaka\n"
    )
    [chunk] = chunk_file("a", "knowledge/contacts.md", text)
    assert chunk.text == "# Contacts\nTanaka"
    assert chunk.date == "2026-02-11"
    created_only = "---\ncreated: 2025-12-01\ntags: [a, b]\n---\nbody\n"
    assert chunk_file("a", "knowledge/c.md", created_only)[0].date == "2025-12-01"
    assert chunk_file("a", "knowledge/c.md", "body\n")[0].date is None


def test_an_episode_date_comes_from_its_file_name_first() -> None:
    text = "---\nupdated: 2026-03-01\n---\n## 10:00 Late edit\nfixed a typo\n"
    assert chunk_file("a", "episodes/2026-02-12.md", text)[0].date == "2026-02-12"
    assert chunk_file("a", "episodes/notes.md", text)[0].date == "2026-03-01"


def test_an_unclosed_frontmatter_fence_is_content() -> None:
    [chunk] = chunk_file("a", "knowledge/x.md", "---\nnot closed\n")
    assert chunk.text == "---\nnot closed"


def test_importance_is_per_section() -> None:
    chunks = chunk_file("a", "knowledge/guidelines.md", SEED_KNOWLEDGE)
    assert [(c.heading, c.importance) for c in chunks] == [
        ("Communication Rules", "important"),
        ("Contacts", "normal"),
    ]


@pytest.mark.parametrize(
    ("path", "text", "links"),
    [
        ("knowledge/a.md", "[c](knowledge/contacts.md)", ("knowledge/contacts.md",)),
        ("knowledge/a.md", "[p](../procedures/deploy.md#step-2)", ("procedures/deploy.md",)),
        ("knowledge/a.md", "[s](./sibling.md 'title')", ("knowledge/sibling.md",)),
        ("knowledge/sub/a.md", "[s](../b.md)", ("knowledge/b.md",)),
        (
            "knowledge/a.md",
            "see [[tanaka]] and [[procedures/deploy|how]]",
            ("knowledge/tanaka.md", "procedures/deploy.md"),
        ),
        ("knowledge/a.md", "[[tanaka#phone]] [[tanaka]] [x](knowledge/tanaka.md)", ("knowledge/tanaka.md",)),
        ("knowledge/a.md", "[web](https://example.com/x.md) [m](mailto:a@b.md)", ()),
        ("knowledge/a.md", "[up](../../etc/passwd.md) [state](../state/current_task.md)", ()),
        ("knowledge/a.md", "[self](a.md) [img](pic.png)", ()),
    ],
)
def test_links_become_anima_relative_memory_paths(path: str, text: str, links: tuple[str, ...]) -> None:
    [chunk] = chunk_file("a", path, f"# Links\n{text}\n")
    assert chunk.links == links


def test_long_sections_split_on_paragraphs_under_the_same_heading() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 60 for i in range(20)]
    text = "# Long\n" + "\n\n".join(paragraphs) + "\n\n## Next\n[IMPORTANT] short\n"
    chunks = chunk_file("a", "knowledge/long.md", text)
    long_pieces = [c for c in chunks if c.heading == "Long"]
    assert len(long_pieces) > 1
    assert all(len(c.text) <= MAX_SECTION_CHARS for c in chunks)
    assert all(c.text.startswith("# Long\n") for c in long_pieces)
    joined = "\n\n".join(c.text.removeprefix("# Long\n") for c in long_pieces)
    assert joined == "\n\n".join(p.strip() for p in paragraphs)  # nothing lost, order kept
    assert [c.chunk_id for c in chunks] == [f"knowledge/long.md#{i}" for i in range(len(chunks))]
    assert chunks[-1].heading == "Next"
    assert chunks[-1].importance == "important"


def test_a_single_huge_paragraph_is_still_split() -> None:
    text = "# Wall\n" + "x" * (MAX_SECTION_CHARS * 3)
    chunks = chunk_file("a", "knowledge/wall.md", text)
    assert len(chunks) >= 3
    assert all(len(c.text) <= MAX_SECTION_CHARS for c in chunks)
    assert sum(c.text.count("x") for c in chunks) == MAX_SECTION_CHARS * 3


@pytest.mark.parametrize(
    "path",
    ["state/current_task.md", "identity.md", "shortterm/x.md", "activity_log/2026-02-12.md", "knowledge"],
)
def test_files_outside_the_memory_folders_are_ignored(path: str) -> None:
    assert chunk_file("a", path, "# Something\ntext\n") == []


def test_every_memory_folder_is_indexed() -> None:
    for folder in ("knowledge", "episodes", "procedures", "skills"):
        assert chunk_file("a", f"{folder}/x.md", "text")[0].memory_type == folder


def test_search_terms_split_words_and_japanese_words() -> None:
    assert search_terms("Deploy the deploy_script v2!") == ["Deploy", "the", "deploy", "script", "v2"]
    assert search_terms("田中さんに連絡") == ["田中", "さん", "連絡"]
    assert search_terms("猫 と Slackの設定") == ["猫", "と", "Slack", "設定"]
    assert search_terms("") == []


def test_japanese_queries_leave_particles_out_unless_nothing_else_is_left() -> None:
    assert search_terms("経理の担当者の内線番号は?") == ["経理", "担当", "者", "内線", "番号"]
    assert search_terms("の") == ["の"]


def test_hangul_is_still_cut_into_bigrams() -> None:
    assert search_terms("검색어") == ["검색", "색어"]


def test_cjk_terms_cover_only_tokens_with_cjk() -> None:
    assert cjk_terms("Deploy on Monday. Slackの設定を変更") == "Slack の 設定 を 変更"
    assert cjk_terms("MX-200の価格は380万円") == "200 の 価格 は 380 万 円"
    assert cjk_terms("plain English only") == ""


def test_an_episode_entry_carries_the_entry_before_it_as_keyword_context() -> None:
    first, second = chunk_file("alice", "episodes/2026-02-12.md", SEED_EPISODE)
    assert first.context == ""  # the day's title is not an entry
    assert second.context == first.text
    assert "Chatwork" in second.context and "Chatwork" not in second.text
    long_entry = "## 10:00 Notes\n" + "\n\n".join(f"paragraph {i} " + "x" * 90 for i in range(40))
    pieces = chunk_file("a", "episodes/2026-03-01.md", f"# 2026-03-01\n\n{long_entry}\n")
    assert len(pieces) > 1
    assert [p.context for p in pieces[1:]] == [p.text for p in pieces[:-1]]


def test_knowledge_sections_carry_no_context() -> None:
    chunks = chunk_file("a", "knowledge/guidelines.md", SEED_KNOWLEDGE)
    assert len(chunks) == 2
    assert [c.context for c in chunks] == ["", ""]


@pytest.mark.parametrize(
    ("query", "heading", "names"),
    [
        ("What did Caroline paint last week?", "13:56 Caroline", True),
        ("what did caroline paint?", "13:56 Caroline", True),  # case-folded
        ("What did Caroline paint?", "13:57 Melanie", False),
        ("What happened at 13:56?", "13:56 Melanie", False),  # an entry's time is not a subject
        ("Reply to Tanaka-san", "14:30 Sato-san called", False),  # honorifics name nobody
        ("Reply to Tanaka-san", "14:30 Tanaka-san called", True),
        ("what is it about?", "About us", False),  # function words name nothing
        ("What are the communication rules?", "Communication Rules", True),
        ("田中さんに返信", "14:30 田中さんから電話", True),
        ("田中さんに返信", "14:30 佐藤さんから電話", False),
        ("", "13:56 Caroline", False),
    ],
)
def test_heading_matcher_compares_content_words(query: str, heading: str, names: bool) -> None:
    assert heading_matcher(query)(heading) is names
