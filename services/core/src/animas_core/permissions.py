"""An anima's ``permissions.md`` as a typed value, so every check reads data, not Markdown.

Pure: no I/O. Permissions start from nothing (DESIGN.md §8 "Default deny"): an absent or empty
file, or an absent section, grants nothing. The sections (seed 003 §6), matched case-insensitively::

    ## Available Tools / ## Unavailable Tools     comma-separated or bullets
    ## Readable / Writable / Invisible Locations  "- Under /dir/" (the directory and below) or
                                                  "- /exact/path"; "(none)" grants nothing
    ## Allowed Commands / ## Disallowed Commands  comma-separated or bullets
    ## Self-Modifiable Files                      protected files the anima may change itself
    ## Shell                                      a line "allowed" lets run_command use a shell
    ## Network                                    a line "allowed" lets commands reach the network

A trailing parenthetical is a note for people ("git push (requires approval)"), never part of the
entry. Unknown sections are ignored, so a newer file still parses.

Tools. Names match case-insensitively, and the seed's names are aliases of the workspace tools:
Read=read_file, Write=write_file, Edit=edit_file, Bash=run_command, Grep=grep, Glob=glob. The
anima's own tools (memory, messaging, tasks, skills; the caller says which via ``own_tool``) are
available unless listed under Unavailable Tools: they touch only its own memory. Every other tool,
the workspace tools above included, is available only when listed under Available Tools and not
under Unavailable Tools.

Commands. A command needs an Allowed Commands entry whose tokens are a prefix of its argv ("git
diff" allows ``git diff HEAD~1``, not ``git push``); the program is compared exactly, so a script
the anima wrote called ``./git`` is not ``git``. A Disallowed Commands entry denies even an allowed
command when its program equals the argv's program (by base name, so ``/usr/bin/docker`` is still
``docker``) and its other tokens all appear in the argv in order; short flag clusters compare by
letter, so "rm -rf" also catches ``rm -r -f x`` and ``rm -fr x``. Over-denying is the safe side.
These checks are the first line only: they cannot contain what an allowed program does with its
own arguments, so agent-runner runs every command in a sandbox that sees only the granted
locations, and has a network only with the Network grant.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence
from types import MappingProxyType

__all__ = [
    "NEVER_SELF_MODIFIABLE",
    "PROTECTED_FILES",
    "SHELL_METACHARACTERS",
    "TOOL_ALIASES",
    "CommandRule",
    "Location",
    "Permissions",
    "command_segments",
    "parse_permissions",
]

PROTECTED_FILES = frozenset(
    {"identity.md", "injection.md", "permissions.md", "status.json", "heartbeat.md", "cron.md"}
)
"""Files an agent cycle may change only with an explicit grant; identity.md never (DESIGN.md §9)."""
NEVER_SELF_MODIFIABLE = frozenset({"identity.md"})
"""Changed only by consolidation or a person, whatever permissions.md says."""

TOOL_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "read": "read_file",
        "write": "write_file",
        "edit": "edit_file",
        "bash": "run_command",
        "grep": "grep",
        "glob": "glob",
    }
)
"""Seed tool name (case-folded) -> the workspace tool it names."""

SHELL_METACHARACTERS = (";", "|", "&", "$", "`", ">", "<", "\n")
"""Characters that mean something only to a shell; without a shell grant they are refused."""

_SECTIONS = {
    "available tools": "available",
    "unavailable tools": "unavailable",
    "readable locations": "readable",
    "writable locations": "writable",
    "invisible locations": "invisible",
    "allowed commands": "allowed",
    "disallowed commands": "disallowed",
    "self-modifiable files": "self_modifiable",
    "shell": "shell",
    "network": "network",
}
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_NOTE = re.compile(r"\s*\(([^()]*)\)\s*$")
_NONE = {"", "none", "(none)", "-", "なし"}
_SHORT_FLAGS = re.compile(r"^-[A-Za-z]+$")
_SEPARATORS = frozenset({";", ";;", "&", "&&", "|", "||", "|&", "(", ")", "`", "\n"})


@dataclasses.dataclass(frozen=True)
class Location:
    """A path from permissions.md: ``recursive`` for "Under /dir/" (the directory and below)."""

    path: str
    recursive: bool

    def __str__(self) -> str:
        return f"Under {self.path}" if self.recursive else self.path


@dataclasses.dataclass(frozen=True)
class CommandRule:
    """An Allowed or Disallowed Commands entry: its tokens and the note people wrote beside it."""

    tokens: tuple[str, ...]
    note: str = ""

    def __str__(self) -> str:
        return shlex.join(self.tokens) + (f" ({self.note})" if self.note else "")


def _tool(name: str) -> str:
    folded = name.strip().strip("`").casefold()
    return TOOL_ALIASES.get(folded, folded)


def _short_flags(tokens: Sequence[str]) -> tuple[set[str], list[str]]:
    letters = {c for t in tokens if _SHORT_FLAGS.match(t) for c in t[1:]}
    return letters, [t for t in tokens if not _SHORT_FLAGS.match(t)]


def _is_subsequence(needle: Sequence[str], haystack: Sequence[str]) -> bool:
    rest = iter(haystack)
    return all(any(item == seen for seen in rest) for item in needle)


def _disallowed_by(rule: CommandRule, argv: Sequence[str]) -> bool:
    if not rule.tokens or posixpath.basename(argv[0]) != posixpath.basename(rule.tokens[0]):
        return False
    if tuple(argv[: len(rule.tokens)]) == rule.tokens:
        return True
    want_flags, want = _short_flags(rule.tokens[1:])
    have_flags, have = _short_flags(argv[1:])
    return want_flags <= have_flags and _is_subsequence(want, have)


@dataclasses.dataclass(frozen=True)
class Permissions:
    """What one anima may do; the empty value (``Permissions()``) grants nothing."""

    available_tools: frozenset[str] = frozenset()
    """Case-folded tool names, seed aliases mapped to the workspace tool names."""
    unavailable_tools: frozenset[str] = frozenset()
    readable: tuple[Location, ...] = ()
    writable: tuple[Location, ...] = ()
    invisible: tuple[Location, ...] = ()
    allowed_commands: tuple[CommandRule, ...] = ()
    disallowed_commands: tuple[CommandRule, ...] = ()
    self_modifiable: frozenset[str] = frozenset()
    """Protected files (never identity.md) the anima may change through its memory tools."""
    shell: bool = False
    network: bool = False
    """Commands run in a sandbox without a network unless this is granted."""

    def tool_allowed(self, name: str, *, own_tool: bool) -> str | None:
        """None when the tool may be used, else the reason it may not (shown to the model)."""
        key = _tool(name)
        if key in self.unavailable_tools:
            return f"tool {name!r} is listed under Unavailable Tools in permissions.md"
        if own_tool or key in self.available_tools:
            return None
        return f"tool {name!r} is not listed under Available Tools in permissions.md"

    def command_denied_reason(self, argv: Sequence[str]) -> str | None:
        """None when ``argv`` may run, else which rule refuses it."""
        if not argv:
            return "empty command"
        shown = shlex.join(argv)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        for rule in self.disallowed_commands:
            if _disallowed_by(rule, argv):
                return f"command {shown!r} is disallowed by Disallowed Commands entry {str(rule)!r}"
        if any(tuple(argv[: len(rule.tokens)]) == rule.tokens for rule in self.allowed_commands):
            return None
        return f"command {shown!r} is not in Allowed Commands"

    def command_line_denied_reason(self, command: str) -> str | None:
        """Check a raw command line: shell syntax needs the Shell grant; each command is checked.

        With the grant every simple command the line separates (``;``, ``&&``, ``|``, ``$(…)``,
        backquotes) is checked; redirections and expansions are trusted to the grant.
        """
        char = next((c for c in command if c in SHELL_METACHARACTERS), None)
        if not self.shell and char is not None:
            return f"shell metacharacters are not allowed: {char!r} (permissions.md grants no Shell)"
        try:
            segments = command_segments(command) if self.shell else [shlex.split(command)]
        except ValueError as exc:
            return f"command cannot be parsed: {exc}"
        if not any(segments):
            return "empty command"
        return next(filter(None, map(self.command_denied_reason, filter(None, segments))), None)


def command_segments(command: str) -> list[list[str]]:
    """The simple commands of a shell line, redirection targets dropped; ValueError if unbalanced."""
    lex = shlex.shlex(command, posix=True, punctuation_chars=";&|()<>`\n")
    lex.whitespace = " \t\r"
    lex.whitespace_split = True
    segments: list[list[str]] = [[]]
    redirect = False
    for token in lex:
        if token in _SEPARATORS:
            segments.append([])
        elif token and set(token) <= set("<>&"):
            redirect = True
        elif redirect:
            redirect = False
        elif token != "$":
            segments[-1].append(token)
    return [segment for segment in segments if segment]


def _split_commas(line: str) -> list[str]:
    """Split on commas outside parentheses, so a note may contain commas."""
    parts, depth, current = [], 0, ""
    for char in line:
        depth += (char == "(") - (char == ")")
        if char in ",、" and depth <= 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _entries(body: list[str], *, commas: bool) -> list[tuple[str, str]]:
    """(entry, note) pairs of a section body; "(none)" and blanks dropped."""
    found: list[tuple[str, str]] = []
    for line in body:
        item = _BULLET.sub("", line.strip(), count=1)
        for part in _split_commas(item) if commas else [item]:
            text = part.strip()
            if text.casefold() in _NONE:
                continue
            match = _NOTE.search(text)
            note = match.group(1).strip() if match else ""
            text = (text[: match.start()] if match else text).strip().strip("`").strip()
            if text.casefold() not in _NONE:
                found.append((text, note))
    return found


def _location(entry: str) -> Location:
    match = re.match(r"^under\s+(.+)$", entry, re.IGNORECASE)
    path = (match.group(1) if match else entry).strip().strip("`")
    return Location(path=path, recursive=match is not None or path.endswith("/"))


def _command(entry: str, note: str) -> CommandRule | None:
    try:
        tokens = shlex.split(entry)
    except ValueError:
        tokens = entry.split()
    return CommandRule(tuple(tokens), note) if tokens else None


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        heading = None if fenced else _HEADING.match(line.strip())
        if heading is not None:
            key = _SECTIONS.get(" ".join(heading.group(2).split()).casefold())
            current = sections.setdefault(key, []) if key and len(heading.group(1)) > 1 else None
        elif current is not None:
            current.append(line)
    return sections


def parse_permissions(text: str | None) -> Permissions:
    """The permissions a ``permissions.md`` grants; None or empty grants nothing."""
    if not text:
        return Permissions()
    sections = _sections(text)

    def entries(key: str, *, commas: bool) -> list[tuple[str, str]]:
        return _entries(sections.get(key, []), commas=commas)

    def commands(key: str) -> tuple[CommandRule, ...]:
        rules = (_command(entry, note) for entry, note in entries(key, commas=True))
        return tuple(rule for rule in rules if rule is not None)

    files = {name for name, _ in entries("self_modifiable", commas=True)}
    return Permissions(
        available_tools=frozenset(_tool(n) for n, _ in entries("available", commas=True)),
        unavailable_tools=frozenset(_tool(n) for n, _ in entries("unavailable", commas=True)),
        readable=tuple(_location(e) for e, _ in entries("readable", commas=False)),
        writable=tuple(_location(e) for e, _ in entries("writable", commas=False)),
        invisible=tuple(_location(e) for e, _ in entries("invisible", commas=False)),
        allowed_commands=commands("allowed"),
        disallowed_commands=commands("disallowed"),
        self_modifiable=frozenset((files & PROTECTED_FILES) - NEVER_SELF_MODIFIABLE),
        shell=_says_allowed(sections.get("shell", [])),
        network=_says_allowed(sections.get("network", [])),
    )


def _says_allowed(body: list[str]) -> bool:
    """True if a yes/no section (Shell, Network) has a line "allowed"."""
    return any(line.strip().strip("-*` ").casefold() == "allowed" for line in body)
