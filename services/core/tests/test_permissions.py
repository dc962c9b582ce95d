"""permissions.md as data: every shipped template, the seed's example, tools and commands."""

from __future__ import annotations

import shlex

import pytest

from animas_core.anima_files import ROLES, AnimaSpec, blank_files, template_files
from animas_core.permissions import (
    NEVER_SELF_MODIFIABLE,
    PROTECTED_FILES,
    CommandRule,
    Location,
    Permissions,
    command_segments,
    parse_permissions,
)

SEED_EXAMPLE = """\
# Permissions: Tanaka

## Available Tools
Read, Write, Edit, Bash, Grep, Glob

## Unavailable Tools
WebSearch, WebFetch

## Readable Locations
- Under /project/src/backend/
- Under /project/docs/
- Under /shared/reports/

## Writable Locations
- Under /project/src/backend/
- Under /workspace/Tanaka/

## Invisible Locations
- /project/.env
- Under /project/src/frontend/ (Suzuki's jurisdiction)

## Allowed Commands
npm test, npm run build, git diff, git log

## Disallowed Commands
git push (requires approval), rm -rf, docker
"""

OWN = ("send_message", "search_memory", "read_memory_file", "write_memory_file", "add_task")
WORKSPACE = ("read_file", "write_file", "edit_file", "run_command", "grep", "glob")


def argv(command: str) -> list[str]:
    return shlex.split(command)


def test_seed_example_parses_every_section() -> None:
    perms = parse_permissions(SEED_EXAMPLE)
    assert perms.available_tools == set(WORKSPACE)
    assert perms.unavailable_tools == {"websearch", "webfetch"}
    assert perms.readable == (
        Location("/project/src/backend/", recursive=True),
        Location("/project/docs/", recursive=True),
        Location("/shared/reports/", recursive=True),
    )
    assert Location("/workspace/Tanaka/", recursive=True) in perms.writable
    assert perms.invisible == (
        Location("/project/.env", recursive=False),
        Location("/project/src/frontend/", recursive=True),
    )
    assert [rule.tokens for rule in perms.allowed_commands] == [
        ("npm", "test"),
        ("npm", "run", "build"),
        ("git", "diff"),
        ("git", "log"),
    ]
    assert perms.disallowed_commands[0] == CommandRule(("git", "push"), "requires approval")
    assert perms.self_modifiable == frozenset()
    assert perms.shell is False
    assert perms.network is False


def test_blank_template_grants_no_workspace_tool_and_no_location() -> None:
    perms = parse_permissions(blank_files(AnimaSpec(name="tanaka"))["permissions.md"])
    assert perms.readable == perms.writable == perms.invisible == ()
    assert perms.allowed_commands == ()
    for tool in ("Read", "Write", "Edit", "Bash", "Grep", "Glob", *WORKSPACE):
        assert perms.tool_allowed(tool, own_tool=False) is not None
    for tool in OWN:
        assert perms.tool_allowed(tool, own_tool=True) is None
    assert perms.command_denied_reason(argv("ls")) == "command 'ls' is not in Allowed Commands"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_template_parses(role: str) -> None:
    perms = parse_permissions(template_files(AnimaSpec(name="tanaka"), role)["permissions.md"])
    assert Location("/workspace/tanaka/", recursive=True) in perms.readable
    assert perms.writable and all(loc.recursive for loc in perms.writable)
    assert perms.invisible == (Location("/workspace/.env", recursive=False),)
    assert perms.self_modifiable == frozenset()
    assert perms.available_tools & perms.unavailable_tools == frozenset()
    assert perms.command_denied_reason(argv("rm -rf /")) is not None
    assert perms.command_denied_reason(argv("sudo ls")) is not None
    assert perms.tool_allowed("send_message", own_tool=True) is None


def test_role_tools_follow_the_template() -> None:
    def perms(role: str) -> Permissions:
        return parse_permissions(template_files(AnimaSpec(name="tanaka"), role)["permissions.md"])

    assert perms("engineer").tool_allowed("run_command", own_tool=False) is None
    assert perms("engineer").command_denied_reason(argv("pytest -q tests")) is None
    assert perms("writer").tool_allowed("Bash", own_tool=False) is not None
    assert perms("ops").tool_allowed("edit_file", own_tool=False) is not None
    assert perms("ops").command_denied_reason(argv("df -h")) is None
    assert perms("ops").command_denied_reason(argv("df -i")) is not None
    assert perms("researcher").tool_allowed("websearch", own_tool=False) is None


def test_absent_or_empty_permissions_grant_nothing() -> None:
    for text in (None, "", "# Permissions: x\n"):
        perms = parse_permissions(text)
        assert perms == Permissions()
        assert perms.tool_allowed("Read", own_tool=False) is not None
        assert perms.command_denied_reason(["ls"]) is not None
        assert perms.tool_allowed("search_memory", own_tool=True) is None


def test_tool_names_match_case_insensitively_and_through_aliases() -> None:
    perms = parse_permissions(
        "## available tools\n- read\n- GLOB\n## UNAVAILABLE TOOLS\n- Write, search_memory"
    )
    assert perms.tool_allowed("read_file", own_tool=False) is None
    assert perms.tool_allowed("Read", own_tool=False) is None
    assert perms.tool_allowed("glob", own_tool=False) is None
    assert perms.tool_allowed("grep", own_tool=False) == (
        "tool 'grep' is not listed under Available Tools in permissions.md"
    )
    assert "Unavailable Tools" in (perms.tool_allowed("write_file", own_tool=False) or "")
    assert "Unavailable Tools" in (perms.tool_allowed("search_memory", own_tool=True) or "")
    assert perms.tool_allowed("add_task", own_tool=True) is None


def test_unavailable_beats_available() -> None:
    perms = parse_permissions("## Available Tools\nBash\n## Unavailable Tools\nrun_command")
    assert perms.tool_allowed("Bash", own_tool=False) is not None


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        ("git diff", True),
        ("git diff HEAD~1", True),
        ("git log --oneline", True),
        ("npm run build", True),
        ("npm run lint", False),
        ("git push", False),
        ("git", False),
        ("./git diff", False),
        ("docker ps", False),
    ],
)
def test_allowed_commands_are_token_prefixes(command: str, allowed: bool) -> None:
    perms = parse_permissions(SEED_EXAMPLE)
    assert (perms.command_denied_reason(argv(command)) is None) is allowed


@pytest.mark.parametrize(
    "command",
    [
        "git push",
        "git push origin main",
        "git -C repo push",
        "rm -rf x",
        "rm -r -f x",
        "rm -fr x",
        "/usr/bin/rm -rf x",
    ],
)
def test_disallowed_commands_deny_even_when_allowed(command: str) -> None:
    perms = parse_permissions(
        "## Allowed Commands\ngit, rm, /usr/bin/rm\n## Disallowed Commands\n" + "git push (ask), rm -rf"
    )
    reason = perms.command_denied_reason(argv(command))
    assert reason is not None
    assert "Disallowed Commands" in reason
    assert perms.command_denied_reason(argv("rm x")) is None
    assert perms.command_denied_reason(argv("git status")) is None


def test_denial_names_the_rule_and_its_note() -> None:
    perms = parse_permissions(SEED_EXAMPLE)
    assert perms.command_denied_reason(argv("git push")) == (
        "command 'git push' is disallowed by Disallowed Commands entry 'git push (requires approval)'"
    )
    assert perms.command_denied_reason(argv("ls")) == "command 'ls' is not in Allowed Commands"
    assert perms.command_denied_reason([]) == "empty command"


def test_command_lines_need_a_shell_grant_for_shell_syntax() -> None:
    perms = parse_permissions("## Allowed Commands\ngit status, ls\n## Disallowed Commands\nrm -rf")
    assert perms.command_line_denied_reason("git status") is None
    reason = perms.command_line_denied_reason("git status; rm -rf /tmp/x")
    assert reason == "shell metacharacters are not allowed: ';' (permissions.md grants no Shell)"
    assert perms.command_line_denied_reason("ls $(rm -rf /)") is not None
    assert perms.command_line_denied_reason("git status 'unterminated") is not None


def test_shell_grant_checks_every_command_of_the_line() -> None:
    perms = parse_permissions("## Allowed Commands\nls, echo\n## Shell\nallowed")
    assert perms.shell
    assert perms.command_line_denied_reason("ls | echo x > out.txt && echo done") is None
    assert perms.command_line_denied_reason("ls; rm x") == "command 'rm x' is not in Allowed Commands"
    assert perms.command_line_denied_reason("echo $(rm x)") is not None
    assert perms.command_line_denied_reason("echo `rm x`") is not None
    assert command_segments("a 'b;c' | d 2> e\nf") == [["a", "b;c"], ["d", "2"], ["f"]]


@pytest.mark.parametrize("line", ["allowed", "- Allowed", "`allowed`"])
def test_shell_is_granted_only_by_the_word_allowed(line: str) -> None:
    assert parse_permissions(f"## Shell\n{line}").shell
    assert not parse_permissions("## Shell\nnot allowed").shell
    assert not parse_permissions("## Shell\n(none)").shell


@pytest.mark.parametrize("line", ["allowed", "- Allowed", "`allowed`"])
def test_network_is_granted_only_by_the_word_allowed(line: str) -> None:
    assert parse_permissions(f"## Network\n{line}").network
    assert not parse_permissions(f"## Shell\n{line}").network
    assert not parse_permissions("## Network\nnot allowed").network
    assert not parse_permissions("## Network\n(none)").network
    assert not parse_permissions("## Allowed Commands\ncurl").network


def test_self_modifiable_files_are_protected_files_but_never_identity() -> None:
    text = (
        "## Self-Modifiable Files\n- heartbeat.md (to tune my rhythm)\n- `cron.md`\n- identity.md\n- notes.md"
    )
    assert parse_permissions(text).self_modifiable == {"heartbeat.md", "cron.md"}
    assert parse_permissions("## Self-Modifiable Files\n- (none)").self_modifiable == frozenset()
    assert NEVER_SELF_MODIFIABLE < PROTECTED_FILES


def test_unknown_sections_and_fenced_headings_are_ignored() -> None:
    text = (
        "## Notes\n- Read\n```\n## Available Tools\nBash\n```\n"
        "## Available Tools\n- Grep\n## Readable Locations\n- (none)"
    )
    perms = parse_permissions(text)
    assert perms.available_tools == {"grep"}
    assert perms.readable == ()


def test_locations_keep_exact_paths_and_directories() -> None:
    perms = parse_permissions(
        "## Readable Locations\n- /etc/hosts\n- /srv/data/\n- Under `/opt/x`\n- under docs"
    )
    assert perms.readable == (
        Location("/etc/hosts", recursive=False),
        Location("/srv/data/", recursive=True),
        Location("/opt/x", recursive=True),
        Location("docs", recursive=True),
    )
    assert [str(loc) for loc in perms.readable][:2] == ["/etc/hosts", "Under /srv/data/"]
