"""The initial files of a new anima: blank, role templates and character sheets."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from animas_contracts import InvalidAnimaName
from animas_core.anima_files import (
    ANIMA_DIRECTORIES,
    ANIMA_FILES,
    PERMISSION_SECTIONS,
    ROLES,
    AnimaSpec,
    CharacterSheetError,
    blank_files,
    company_vision,
    parse_character_sheet,
    template_files,
)
from animas_core.character_sheet import IDENTITY_SECTIONS, INJECTION_SECTIONS

SCHEDULE = re.compile(
    r"(Daily|Every (Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)) ([01]?\d|2[0-3]):[0-5]\d UTC"
)
CRON_HEADING = re.compile(r"^## (?P<title>.+?) \((?P<schedule>[^()]*)\)$")
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
FILE_TITLES = {
    "identity.md": "Identity",
    "injection.md": "Injection",
    "permissions.md": "Permissions",
    "heartbeat.md": "Heartbeat",
    "cron.md": "Cron",
    "bootstrap.md": "Bootstrap",
}
LISTED = {"Readable Locations", "Writable Locations", "Invisible Locations", "Self-Modifiable Files"}

SPEC = AnimaSpec(name="tanaka", supervisor="sato", speciality="backend", model="openai/gpt-4o")


def example_sheet() -> str:
    return (
        resources.files("animas_core")
        .joinpath("templates", "examples", "character-sheet.md")
        .read_text("utf-8")
    )


def sections(text: str) -> dict[str, str]:
    """``## heading`` -> body, in order."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = out.setdefault(line[3:].strip(), [])
        elif current is not None:
            current.append(line)
    return {key: "\n".join(body).strip() for key, body in out.items()}


def items(body: str) -> list[str]:
    """The entries of a permissions section (a comma list or bullets); ``(none)`` is no entry."""
    lines = [line.strip().removeprefix("- ").strip() for line in body.splitlines() if line.strip()]
    entries = [part.strip() for line in lines for part in line.split(",")]
    return [entry for entry in entries if entry and entry != "(none)"]


def all_variants() -> list[tuple[str, dict[str, str]]]:
    variants = [("blank", blank_files(SPEC))]
    variants += [(f"template:{role}", template_files(SPEC, role)) for role in ROLES]
    variants.append(("character-sheet", parse_character_sheet(example_sheet())[1]))
    return variants


def test_the_directories_are_the_seed_layout() -> None:
    assert ANIMA_DIRECTORIES == (
        "assets",
        "transcripts",
        "skills",
        "activity_log",
        "state",
        "episodes",
        "knowledge",
        "procedures",
        "shortterm",
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_role_yields_every_file(role: str) -> None:
    files = template_files(SPEC, role)
    assert set(files) == set(ANIMA_FILES)
    for path, title in FILE_TITLES.items():
        assert files[path].startswith(f"# {title}: tanaka\n"), path
        assert files[path].endswith("\n") and not files[path].endswith("\n\n")
    assert files["specialty_prompt.md"].startswith("# Specialty: ")
    status = json.loads(files["status.json"])
    assert status["created_from"] == f"template:{role}"
    assert status["role"] == role


def test_roles_are_distinct() -> None:
    for path in ("identity.md", "injection.md", "specialty_prompt.md", "cron.md"):
        texts = {template_files(SPEC, role)[path] for role in ROLES}
        assert len(texts) == len(ROLES), path


@pytest.mark.parametrize("role", ROLES)
def test_identity_and_injection_follow_the_seed_sections(role: str) -> None:
    files = template_files(SPEC, role)
    assert list(sections(files["identity.md"])) == list(IDENTITY_SECTIONS)
    assert list(sections(files["injection.md"])) == list(INJECTION_SECTIONS)
    assert "sato" in files["injection.md"] and "backend" in files["injection.md"]


def test_status_json_is_exact() -> None:
    text = template_files(SPEC, "ops")["status.json"]
    assert text.endswith("}\n")
    status = json.loads(text)
    assert status == {
        "enabled": True,
        "role": "ops",
        "supervisor": "sato",
        "speciality": "backend",
        "model": "openai/gpt-4o",
        "credential": None,
        "execution_mode": None,
        "fallback_model": None,
        "timezone": None,
        "created_from": "template:ops",
    }
    assert text == json.dumps(status, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize(("origin", "files"), all_variants(), ids=lambda v: v if isinstance(v, str) else "")
def test_permissions_have_every_section_and_protect_files(origin: str, files: dict[str, str]) -> None:
    perms = sections(files["permissions.md"])
    assert list(perms) == list(PERMISSION_SECTIONS), origin
    assert all(perms.values()), origin
    assert perms["Self-Modifiable Files"] == "- (none)"
    for key in LISTED:
        assert all(line.startswith("- ") for line in perms[key].splitlines()), (origin, key)


@pytest.mark.parametrize("role", ROLES)
def test_permissions_are_default_deny(role: str) -> None:
    perms = sections(template_files(SPEC, role)["permissions.md"])
    commands = items(perms["Allowed Commands"])
    expected = {
        "engineer": ["pytest", "git status", "git diff", "git log"],
        "ops": ["systemctl status", "df -h", "journalctl", "uptime", "free -m"],
    }
    assert commands == expected.get(role, [])
    if not commands:
        assert perms["Allowed Commands"] == "(none)"
        assert "Bash" in items(perms["Unavailable Tools"])
    assert "Bash" not in items(perms["Available Tools"]) or commands
    assert set(items(perms["Writable Locations"])) <= {"Under /workspace/tanaka/", "Under /shared/reports/"}
    assert "rm -rf" in items(perms["Disallowed Commands"])


def test_general_and_blank_allow_no_commands() -> None:
    for files in (template_files(SPEC, "general"), blank_files(SPEC)):
        perms = sections(files["permissions.md"])
        assert items(perms["Allowed Commands"]) == []
        assert "Bash" not in items(perms["Available Tools"])


@pytest.mark.parametrize(("origin", "files"), all_variants(), ids=lambda v: v if isinstance(v, str) else "")
def test_cron_schedules_use_the_documented_notation(origin: str, files: dict[str, str]) -> None:
    headings = [line for line in files["cron.md"].splitlines() if line.startswith("## ")]
    if origin != "blank":
        assert headings, origin
    for heading in headings:
        match = CRON_HEADING.match(heading)
        assert match is not None, heading
        assert SCHEDULE.fullmatch(match["schedule"]), heading
        assert not re.search(r"\d+\s*\*|\*\s*\d|\bday\s*\d", heading, re.IGNORECASE), heading


@pytest.mark.parametrize(("origin", "files"), all_variants(), ids=lambda v: v if isinstance(v, str) else "")
def test_heartbeat_follows_the_seed_format(origin: str, files: dict[str, str]) -> None:
    beat = sections(files["heartbeat.md"])
    assert list(beat) == ["Execution Interval", "Active Hours", "Checklist", "Notification Rules"], origin
    assert re.fullmatch(r"Every \d+ minutes", beat["Execution Interval"])
    assert re.fullmatch(r"\d{1,2}:\d\d - \d{1,2}:\d\d \(UTC\)", beat["Active Hours"])
    assert "HEARTBEAT_OK" in beat["Checklist"]


@pytest.mark.parametrize(("origin", "files"), all_variants(), ids=lambda v: v if isinstance(v, str) else "")
def test_placeholders_are_all_filled(origin: str, files: dict[str, str]) -> None:
    for path, text in files.items():
        if path != "status.json":
            assert PLACEHOLDER.search(text) is None, (origin, path, PLACEHOLDER.findall(text))


def test_blank_files_are_minimal_but_complete() -> None:
    files = blank_files(AnimaSpec(name="newbie"))
    assert set(files) == set(ANIMA_FILES)
    for path, title in FILE_TITLES.items():
        assert files[path].startswith(f"# {title}: newbie\n"), path
    assert list(sections(files["identity.md"])) == list(IDENTITY_SECTIONS)
    assert list(sections(files["injection.md"])) == list(INJECTION_SECTIONS)
    assert not [line for line in files["cron.md"].splitlines() if line.startswith("## ")]
    assert sum(len(text) for text in files.values()) < sum(
        len(text) for text in template_files(AnimaSpec(name="newbie"), "general").values()
    )
    status = json.loads(files["status.json"])
    assert status["created_from"] == "blank"
    assert status["role"] is None and status["enabled"] is True
    assert "the humans who run this organization" in files["bootstrap.md"]


def test_template_role_must_agree_with_the_spec() -> None:
    with pytest.raises(ValueError, match="conflicts"):
        template_files(AnimaSpec(name="tanaka", role="manager"), "engineer")
    with pytest.raises(ValueError, match="unknown role"):
        template_files(SPEC, "designer")
    with pytest.raises(ValueError, match="unknown role"):
        AnimaSpec(name="tanaka", role="designer")
    writer = template_files(AnimaSpec(name="tanaka", role="writer"), "writer")
    assert json.loads(writer["status.json"])["role"] == "writer"


def test_company_vision_is_a_template() -> None:
    vision = company_vision()
    assert vision.startswith("# Company Vision\n")
    assert "## Mission" in vision and PLACEHOLDER.search(vision) is None


def test_output_is_deterministic() -> None:
    assert blank_files(SPEC) == blank_files(SPEC)
    for role in ROLES:
        assert template_files(SPEC, role) == template_files(SPEC, role)
    assert parse_character_sheet(example_sheet()) == parse_character_sheet(example_sheet())


@pytest.mark.parametrize("bad", ["a.b", "A B", "", "Tanaka", "1abc", "a*", "x" * 65])
def test_bad_names_are_refused_everywhere(bad: str) -> None:
    with pytest.raises(InvalidAnimaName):
        AnimaSpec(name=bad)
    with pytest.raises(InvalidAnimaName):
        parse_character_sheet(example_sheet(), name=bad)
    titled = example_sheet().replace("# Character Sheet: tanaka", f"# Character Sheet: {bad}")
    with pytest.raises(InvalidAnimaName if bad else CharacterSheetError):
        parse_character_sheet(titled)


# Character sheets

MINIMAL_SHEET = """\
# Character Sheet: kato
## Personality Traits
- Cheerful
## Strengths
- Spreadsheets
## Weaknesses
- Impatient
## Role
Bookkeeper.
## Principles
Every number has a receipt.
"""


def test_the_example_sheet_parses() -> None:
    spec, files = parse_character_sheet(example_sheet())
    assert spec == AnimaSpec(
        name="tanaka",
        role="engineer",
        supervisor="sato",
        speciality="backend architecture",
        model="anthropic/claude-sonnet-4-5",
        credential="anthropic",
    )
    assert set(files) == set(ANIMA_FILES)
    identity = sections(files["identity.md"])
    assert list(identity) == list(IDENTITY_SECTIONS)
    assert identity["Strengths"] == "- Backend design and performance optimization\n- Careful code review"
    assert list(sections(files["injection.md"])) == list(INJECTION_SECTIONS)
    perms = sections(files["permissions.md"])
    assert "Under /workspace/frontend/ (suzuki's jurisdiction)" in items(perms["Invisible Locations"])
    assert items(perms["Allowed Commands"]) == ["pytest", "git diff", "git log"]
    assert files["cron.md"] == template_files(spec, "engineer")["cron.md"]
    assert json.loads(files["status.json"])["created_from"] == "character-sheet"


def test_a_minimal_sheet_uses_the_general_template() -> None:
    spec, files = parse_character_sheet(MINIMAL_SHEET)
    assert spec == AnimaSpec(name="kato")
    general = template_files(AnimaSpec(name="kato"), "general")
    for path in ("permissions.md", "heartbeat.md", "cron.md", "bootstrap.md", "specialty_prompt.md"):
        assert files[path] == general[path], path
    assert files["identity.md"] == (
        "# Identity: kato\n\n## Personality Traits\n- Cheerful\n\n## Strengths\n- Spreadsheets\n\n"
        "## Weaknesses\n- Impatient\n"
    )
    assert files["injection.md"] == (
        "# Injection: kato\n\n## Role\nBookkeeper.\n\n## Principles\nEvery number has a receipt.\n"
    )
    status = json.loads(files["status.json"])
    assert status["role"] is None and status["created_from"] == "character-sheet"


def test_permissions_default_to_general_even_with_a_role() -> None:
    _, files = parse_character_sheet(MINIMAL_SHEET + "## Settings\n- role: ops\n")
    assert files["permissions.md"] == template_files(AnimaSpec(name="kato"), "general")["permissions.md"]
    assert files["heartbeat.md"] == template_files(AnimaSpec(name="kato"), "ops")["heartbeat.md"]


def test_headings_are_case_and_space_insensitive() -> None:
    sheet = MINIMAL_SHEET.replace("## Personality Traits", "##   personality   TRAITS  ").replace(
        "## Role", "## ROLE"
    )
    assert parse_character_sheet(sheet) == parse_character_sheet(MINIMAL_SHEET)


def test_the_name_argument_overrides_the_title() -> None:
    spec, files = parse_character_sheet(MINIMAL_SHEET, name="suzuki")
    assert spec.name == "suzuki"
    assert files["identity.md"].startswith("# Identity: suzuki\n")
    untitled = MINIMAL_SHEET.replace("# Character Sheet: kato\n", "")
    assert parse_character_sheet(untitled, name="kato") == parse_character_sheet(MINIMAL_SHEET)
    with pytest.raises(CharacterSheetError, match="no name"):
        parse_character_sheet(untitled)


def test_a_sheet_missing_two_sections_lists_both() -> None:
    sheet = MINIMAL_SHEET.replace("## Strengths\n- Spreadsheets\n", "").replace(
        "## Principles\nEvery number has a receipt.\n", "## Principles\n\n"
    )
    with pytest.raises(CharacterSheetError) as caught:
        parse_character_sheet(sheet)
    assert caught.value.missing == ["Strengths", "Principles"]
    assert str(caught.value) == "character sheet is missing sections: Strengths, Principles"


def test_an_unknown_section_is_rejected_by_name() -> None:
    with pytest.raises(CharacterSheetError, match="unknown sections: Hobbies") as caught:
        parse_character_sheet(MINIMAL_SHEET + "## Hobbies\n- Go\n")
    assert caught.value.missing == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("## Role\nAgain.\n", "repeats sections: Role"),
        ("## Settings\n- role: designer\n", "unknown role 'designer'"),
        ("## Settings\n- mood: happy\n", "unknown setting 'mood'"),
        ("## Settings\nrole engineer\n", "key: value"),
        ("## Permissions\n### Secret Powers\nall\n", "unknown permissions heading"),
        ("## Permissions\nRead everything\n", "must sit under one of its headings"),
        (
            "## Permissions\n### Self-Modifiable Files\n- identity.md\n",
            "identity.md can never be self-modifiable",
        ),
        ("# Character Sheet: again\n", "unexpected title"),
    ],
)
def test_malformed_sheets_are_rejected(extra: str, message: str) -> None:
    with pytest.raises(CharacterSheetError, match=re.escape(message)):
        parse_character_sheet(MINIMAL_SHEET + extra)


def test_sheet_permissions_fill_absent_sections_with_nothing() -> None:
    sheet = MINIMAL_SHEET + "## Permissions\n## Available Tools\nRead, Grep\n### allowed commands\nls\n"
    _, files = parse_character_sheet(sheet)
    perms = sections(files["permissions.md"])
    assert list(perms) == list(PERMISSION_SECTIONS)
    assert perms["Available Tools"] == "Read, Grep"
    assert perms["Allowed Commands"] == "ls"
    assert perms["Writable Locations"] == "- (none)"
    assert perms["Disallowed Commands"] == "(none)"


def test_headings_inside_code_fences_are_text() -> None:
    sheet = MINIMAL_SHEET.replace("Bookkeeper.\n", "Bookkeeper.\n```\n## Not A Section\n```\n")
    _, files = parse_character_sheet(sheet)
    assert "## Not A Section" in files["injection.md"]


def test_settings_accept_the_seed_spelling_and_empty_values() -> None:
    spec, _ = parse_character_sheet(MINIMAL_SHEET + "## Settings\n- Specialty: ledgers\n- supervisor:\n")
    assert spec.speciality == "ledgers" and spec.supervisor is None
