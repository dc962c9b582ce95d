"""Reading a Markdown character sheet: the sections, the settings and the permissions.

This module only parses and validates; :func:`animas_core.anima_files.parse_character_sheet` turns
the result into an anima's files. A sheet looks like::

    # Character Sheet: tanaka
    ## Personality Traits
    ## Perspective            (optional)
    ## Strengths
    ## Weaknesses
    ## Role
    ## Principles
    ## Code of Conduct        (optional)
    ## Things Not To Do       (optional)
    ## Permissions            (optional: permissions.md's sections, as `##` or `###` headings)
    ## Settings               (optional: `- key: value` lines)

Headings match case-insensitively and ignore surrounding whitespace; headings inside fenced code
blocks are text. Text between the title and the first section is an introduction and is ignored.
"""

from __future__ import annotations

import dataclasses
import re

IDENTITY_SECTIONS = ("Personality Traits", "Perspective", "Strengths", "Weaknesses")
"""identity.md's sections, in the order of seed 003 §5."""

INJECTION_SECTIONS = ("Role", "Principles", "Code of Conduct", "Things Not To Do")
"""injection.md's sections, in the order of seed 003 §9."""

PERMISSION_SECTIONS = (
    "Available Tools",
    "Unavailable Tools",
    "Readable Locations",
    "Writable Locations",
    "Invisible Locations",
    "Allowed Commands",
    "Disallowed Commands",
    "Self-Modifiable Files",
)
"""permissions.md's sections, in order (seed 003 §6 plus the protected files an anima may edit)."""

SHEET_SECTIONS = (*IDENTITY_SECTIONS, *INJECTION_SECTIONS, "Permissions", "Settings")
REQUIRED_SECTIONS = ("Personality Traits", "Strengths", "Weaknesses", "Role", "Principles")
SETTING_KEYS = ("role", "supervisor", "speciality", "model", "credential")
_SETTING_ALIASES = {"specialty": "speciality"}
NEVER_SELF_MODIFIABLE = ("identity.md",)
"""Files no agent cycle may change, whatever the sheet says (DESIGN.md §9 "Protected files")."""

_HEADING = re.compile(r"^(#{1,3})\s+(.*?)\s*#*\s*$")
_TITLE = re.compile(r"^character\s+sheet\s*:\s*(.*)$", re.IGNORECASE)
_SETTING = re.compile(r"^[-*]\s*([A-Za-z_ -]+?)\s*:\s*(.*?)\s*$")


class CharacterSheetError(ValueError):
    """A character sheet that cannot become an anima; ``missing`` lists absent required sections."""

    def __init__(self, message: str, *, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing: list[str] = list(missing or [])


@dataclasses.dataclass(frozen=True)
class CharacterSheet:
    """A parsed sheet: ``sections`` and ``permissions`` use the canonical heading spelling."""

    name: str | None
    sections: dict[str, str]
    settings: dict[str, str]
    permissions: dict[str, str] | None


def _canonical(heading: str, known: tuple[str, ...]) -> str | None:
    folded = " ".join(heading.split()).casefold()
    return next((name for name in known if name.casefold() == folded), None)


def _lines_outside_fences(text: str) -> list[tuple[str, bool]]:
    """Each line with whether it may be a heading (that is, it is not inside a code fence)."""
    out: list[tuple[str, bool]] = []
    fence: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        marker = stripped[:3]
        if marker in ("```", "~~~"):
            fence = marker if fence is None else (None if marker == fence else fence)
            out.append((line, False))
            continue
        out.append((line, fence is None))
    return out


def read_character_sheet(text: str) -> CharacterSheet:
    """Split a sheet into its sections; raise :class:`CharacterSheetError` on any problem.

    Every missing required section is reported at once (in ``.missing`` and in the message);
    unknown or repeated sections are errors that name them.
    """
    name: str | None = None
    raw: dict[str, list[str]] = {}
    perms: dict[str, list[str]] = {}
    unknown: list[str] = []
    repeated: list[str] = []
    current: list[str] | None = None
    in_permissions = False
    seen_title = False
    for line, may_be_heading in _lines_outside_fences(text):
        match = _HEADING.match(line.strip()) if may_be_heading else None
        if match is None:
            if current is not None:
                current.append(line)
            elif in_permissions and line.strip():
                raise CharacterSheetError(
                    "text in ## Permissions must sit under one of its headings: "
                    + ", ".join(PERMISSION_SECTIONS)
                )
            continue
        level, heading = len(match.group(1)), match.group(2)
        if level == 1:
            title = _TITLE.match(heading)
            if title is None or seen_title or raw:
                raise CharacterSheetError(
                    f"unexpected title {heading!r}; the sheet starts with '# Character Sheet: <name>'"
                )
            seen_title = True
            name = title.group(1).strip() or None
            continue
        perm = _canonical(heading, PERMISSION_SECTIONS) if in_permissions else None
        if perm is not None:
            if perm in perms:
                repeated.append(f"Permissions/{perm}")
            current = perms.setdefault(perm, [])
            continue
        if level == 3:
            if in_permissions:
                raise CharacterSheetError(
                    f"unknown permissions heading {heading!r} (known: {', '.join(PERMISSION_SECTIONS)})"
                )
            if current is not None:
                current.append(line)
            continue
        section = _canonical(heading, SHEET_SECTIONS)
        in_permissions = section == "Permissions"
        current = None if in_permissions else []
        if section is None:
            unknown.append(heading)
        elif section in raw:
            repeated.append(section)
        else:
            raw[section] = current if current is not None else []
    if unknown:
        raise CharacterSheetError(
            "character sheet has unknown sections: "
            + ", ".join(unknown)
            + " (known: "
            + ", ".join(SHEET_SECTIONS)
            + ")"
        )
    if repeated:
        raise CharacterSheetError("character sheet repeats sections: " + ", ".join(repeated))
    sections = {key: "\n".join(body).strip() for key, body in raw.items()}
    missing = [key for key in REQUIRED_SECTIONS if not sections.get(key)]
    if missing:
        raise CharacterSheetError(
            "character sheet is missing sections: " + ", ".join(missing), missing=missing
        )
    settings = _settings(sections.pop("Settings", ""))
    permissions = None
    if "Permissions" in sections:
        sections.pop("Permissions")
        permissions = {key: "\n".join(body).strip() for key, body in perms.items()}
        _check_self_modifiable(permissions.get("Self-Modifiable Files", ""))
    sections = {key: body for key, body in sections.items() if body}
    return CharacterSheet(name=name, sections=sections, settings=settings, permissions=permissions)


def _settings(body: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in body.splitlines():
        if not line.strip():
            continue
        match = _SETTING.match(line.strip())
        if match is None:
            raise CharacterSheetError(f"## Settings lines are '- key: value'; got {line.strip()!r}")
        key = "_".join(match.group(1).lower().split())
        key = _SETTING_ALIASES.get(key, key)
        if key not in SETTING_KEYS:
            raise CharacterSheetError(f"unknown setting {key!r} (known: {', '.join(SETTING_KEYS)})")
        if key in settings:
            raise CharacterSheetError(f"setting {key!r} is given twice")
        if match.group(2):
            settings[key] = match.group(2)
    return settings


def _check_self_modifiable(body: str) -> None:
    for never in NEVER_SELF_MODIFIABLE:
        if re.search(rf"(?<![\w.-]){re.escape(never)}(?![\w.-])", body):
            raise CharacterSheetError(
                f"{never} can never be self-modifiable: only consolidation or a human change it"
            )
