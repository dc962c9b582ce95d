import pytest

from animas_priming.domain.entities import about_someone_else, people


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Reply to Tanaka-san about the schedule", {"tanaka"}),
        ("Casual is fine with Sato-san; Suzuki sama prefers notes", {"sato", "suzuki"}),
        ("田中さんに返信してください", {"田中"}),
        ("no names here, Monday", set()),
    ],
)
def test_people(text: str, names: set[str]) -> None:
    assert people(text) == names


def test_memories_about_other_people_are_told_apart() -> None:
    assert about_someone_else("Reply to Tanaka-san", "Casual is fine with Sato-san")
    assert not about_someone_else("Reply to Tanaka-san", "Tanaka-san rejected our casual reply")
    assert not about_someone_else("Reply to Tanaka-san", "The build runs with make")
    assert not about_someone_else("What is the plan?", "Casual is fine with Sato-san")
    assert about_someone_else("田中さんに返信", "佐藤さんにはカジュアルで良い")
