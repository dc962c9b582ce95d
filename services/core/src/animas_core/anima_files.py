"""The initial files of a new anima: blank, from a role template, or from a character sheet.

Pure: the only I/O is reading this package's own templates. Every function returns a mapping of
relative path to file text; writing them (and creating :data:`ANIMA_DIRECTORIES`) is the caller's
job. The output is deterministic: the same inputs give byte-identical files.

Templates live under ``animas_core/templates/`` (``blank/``, ``roles/<role>/``, ``company/``) and use
``str.format_map`` placeholders: ``{name}``, ``{role}``, ``{supervisor}``, ``{speciality}`` and
``{timezone}``. A placeholder the renderer does not know is left as it is, and values are
inserted verbatim (braces in a value are never re-expanded).
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

from animas_contracts import validate_anima_name
from animas_core.character_sheet import (
    IDENTITY_SECTIONS,
    INJECTION_SECTIONS,
    PERMISSION_SECTIONS,
    CharacterSheetError,
    read_character_sheet,
)

__all__ = [
    "ANIMA_DIRECTORIES",
    "ANIMA_FILES",
    "DEFAULT_TIMEZONE",
    "PERMISSION_SECTIONS",
    "ROLES",
    "AnimaSpec",
    "CharacterSheetError",
    "blank_files",
    "company_vision",
    "parse_character_sheet",
    "status_json",
    "template_files",
]

ROLES = ("engineer", "researcher", "manager", "writer", "ops", "general")
"""The role templates shipped with AnimaWorks (seed 003 §3)."""

ANIMA_DIRECTORIES = (
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
"""The directories of an anima (seed 003 §3.1); the writer creates them."""

TEMPLATE_FILES = (
    "identity.md",
    "injection.md",
    "permissions.md",
    "heartbeat.md",
    "cron.md",
    "bootstrap.md",
    "specialty_prompt.md",
)
ANIMA_FILES = (*TEMPLATE_FILES, "status.json")
"""The files every new anima starts with (seed 003 §3.1)."""

DEFAULT_TIMEZONE = "UTC"
"""The time zone written into heartbeat and cron files until the anima's own is set."""

_SHEET_TEMPLATE_ROLE = "general"


@dataclasses.dataclass(frozen=True)
class AnimaSpec:
    """Who a new anima is: its name and the settings that go into ``status.json``.

    ``role`` is one of :data:`ROLES`, or ``None`` for an anima without a role.
    """

    name: str
    role: str | None = None
    supervisor: str | None = None
    speciality: str | None = None
    model: str | None = None
    credential: str | None = None

    def __post_init__(self) -> None:
        validate_anima_name(self.name)
        _check_role(self.role)


def _check_role(role: str | None) -> None:
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")


class _KeepUnknown(dict[str, str]):
    """A format_map mapping that leaves ``{unknown}`` placeholders as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _template(*parts: str) -> str:
    resource = resources.files("animas_core").joinpath("templates", *parts)
    return resource.read_text(encoding="utf-8")


def _values(spec: AnimaSpec, role: str | None) -> _KeepUnknown:
    supervisor = spec.supervisor or "the humans who run this organization"
    return _KeepUnknown(
        name=spec.name,
        role=role or "unassigned",
        supervisor=supervisor,
        speciality=spec.speciality or "not defined yet",
        timezone=DEFAULT_TIMEZONE,
    )


def _render(
    folder: tuple[str, ...], spec: AnimaSpec, role: str | None, files: tuple[str, ...] = TEMPLATE_FILES
) -> dict[str, str]:
    values = _values(spec, role)
    return {file: _template(*folder, file).format_map(values) for file in files}


def status_json(spec: AnimaSpec, *, created_from: str) -> str:
    """The ``status.json`` of a new anima: 2-space indent, sorted keys, a trailing newline."""
    status = {
        "enabled": True,
        "role": spec.role,
        "supervisor": spec.supervisor,
        "speciality": spec.speciality,
        "model": spec.model,
        "credential": spec.credential,
        "execution_mode": None,
        "fallback_model": None,
        "timezone": None,
        "created_from": created_from,
    }
    return json.dumps(status, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def blank_files(spec: AnimaSpec) -> dict[str, str]:
    """The "empty vessel": every file present, with headings and next to nothing in them."""
    validate_anima_name(spec.name)
    files = _render(("blank",), spec, spec.role)
    files["status.json"] = status_json(spec, created_from="blank")
    return files


def template_files(spec: AnimaSpec, role: str) -> dict[str, str]:
    """Every file filled from the ``role`` template; ``spec.role``, if set, must agree with it."""
    validate_anima_name(spec.name)
    _check_role(role)
    if spec.role is not None and spec.role != role:
        raise ValueError(f"spec.role {spec.role!r} conflicts with the template role {role!r}")
    spec = dataclasses.replace(spec, role=role)
    files = _render(("roles", role), spec, role)
    files["status.json"] = status_json(spec, created_from=f"template:{role}")
    return files


def company_vision() -> str:
    """A short template for the organization's shared ``company/vision.md``."""
    return _template("company", "vision.md")


def _document(title: str, sections: dict[str, str], order: tuple[str, ...]) -> str:
    parts = [f"# {title}"]
    parts += [f"## {key}\n{sections[key]}" for key in order if sections.get(key)]
    return "\n\n".join(parts) + "\n"


def _permissions(name: str, given: dict[str, str]) -> str:
    """permissions.md from a sheet's sections; an absent section grants nothing (default deny)."""
    listed = {"Readable Locations", "Writable Locations", "Invisible Locations", "Self-Modifiable Files"}
    sections = {
        key: given.get(key) or ("- (none)" if key in listed else "(none)") for key in PERMISSION_SECTIONS
    }
    return _document(f"Permissions: {name}", sections, PERMISSION_SECTIONS)


def parse_character_sheet(text: str, *, name: str | None = None) -> tuple[AnimaSpec, dict[str, str]]:
    """Turn a Markdown character sheet into a spec and the anima's files.

    The ``name`` argument overrides the sheet's ``# Character Sheet: <name>`` title. identity.md
    and injection.md come from the sheet; permissions.md from its ``## Permissions`` section (or
    the ``general`` template's); the other files from the template of the ``role`` in
    ``## Settings`` (or ``general``). Raises :class:`CharacterSheetError` for a malformed sheet
    and ``InvalidAnimaName`` for a bad name.
    """
    sheet = read_character_sheet(text)
    chosen = name if name is not None else sheet.name
    if chosen is None:
        raise CharacterSheetError(
            "character sheet has no name: add '# Character Sheet: <name>' or pass name="
        )
    validate_anima_name(chosen)
    role = sheet.settings.get("role")
    if role is not None and role not in ROLES:
        raise CharacterSheetError(f"unknown role {role!r} in ## Settings; choose one of {', '.join(ROLES)}")
    spec = AnimaSpec(
        name=chosen,
        role=role,
        supervisor=sheet.settings.get("supervisor"),
        speciality=sheet.settings.get("speciality"),
        model=sheet.settings.get("model"),
        credential=sheet.settings.get("credential"),
    )
    files = _render(("roles", role or _SHEET_TEMPLATE_ROLE), spec, role)
    files["identity.md"] = _document(f"Identity: {chosen}", sheet.sections, IDENTITY_SECTIONS)
    files["injection.md"] = _document(f"Injection: {chosen}", sheet.sections, INJECTION_SECTIONS)
    if sheet.permissions is None:  # default deny: the general template's, whatever the role
        files |= _render(("roles", _SHEET_TEMPLATE_ROLE), spec, role, ("permissions.md",))
    else:
        files["permissions.md"] = _permissions(chosen, sheet.permissions)
    files["status.json"] = status_json(spec, created_from="character-sheet")
    return spec, files
