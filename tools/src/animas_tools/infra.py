"""Deployment files generated from code: the NATS accounts, agent-runner's KEDA ScaledObject.

``python -m animas_tools.infra write`` regenerates ``infra/nats/accounts.conf`` from
:mod:`animas_tools.authority` and ``infra/k8s-keda/agent-runner-scaledobject.yaml`` from
:mod:`animas_tools.keda_scaling`; ``check`` fails when a committed file differs (CI runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from animas_tools.authority import ADMIN_PERMISSIONS, ADMIN_USER, RESPONSES, SERVICE_PERMISSIONS, Permissions
from animas_tools.keda_scaling import SCALED_OBJECT_FILE, render_scaled_object

ACCOUNTS_FILE = Path(__file__).resolve().parents[3] / "infra" / "nats" / "accounts.conf"

HEADER = """\
# NATS accounts and users of AnimaWorks: one user per service plus the operator's admin.
#
# GENERATED from tools/src/animas_tools/authority.py by `python -m animas_tools.infra write`
# (the same rules `anima up` gives the embedded server). CI fails when it drifts; do not edit.
#
# Passwords are never stored here. Each `$<NAME>_PASSWORD` is a nats-server variable that is
# resolved from the server process's environment (compose: from .env; Kubernetes: from the
# nats-users Secret). nats-server parses each value as a config token: start it with a letter
# and use only letters, digits, '-' and '_' (a value that begins with a digit or '-' is read as
# a number or a date, or stops the server), e.g. python -c "import secrets;
# print('p' + secrets.token_urlsafe(24))".
#
# Included by nats-server.conf (compose, single node) and nats-cluster.conf (Kubernetes).
"""


def password_variable(user: str) -> str:
    """The nats-server variable holding a user's password: ``agent-runner`` → ``$AGENT_RUNNER_PASSWORD``."""
    return "$" + user.upper().replace("-", "_") + "_PASSWORD"


def _block(items: tuple[str, ...], indent: str) -> list[str]:
    if not items:
        return ["[]"]
    return ["[", *(f"{indent}  {json.dumps(i)}" for i in items), f"{indent}]"]


def _user(name: str, perms: Permissions) -> list[str]:
    pad = " " * 6
    allow = _block(perms.publish_allow, pad + "      ")
    deny = _block(perms.publish_deny, pad + "      ")
    sub = _block(perms.subscribe_allow, pad + "      ")
    return [
        f"{pad}{{",
        f'{pad}  user: "{name}"',
        f"{pad}  password: {password_variable(name)}",
        f"{pad}  permissions: {{",
        f"{pad}    publish: {{",
        f"{pad}      allow: {allow[0]}",
        *allow[1:],
        f"{pad}      deny: {deny[0]}",
        *deny[1:],
        f"{pad}    }}",
        f"{pad}    subscribe: {{",
        f"{pad}      allow: {sub[0]}",
        *sub[1:],
        f"{pad}    }}",
        *([f"{pad}    allow_responses: {RESPONSES}"] if perms.allow_responses else []),
        f"{pad}  }}",
        f"{pad}}}",
    ]


def render_accounts() -> str:
    """The whole accounts.conf."""
    lines = [HEADER.rstrip("\n"), "accounts {", "  ANIMAWORKS {", "    jetstream: enabled", "    users: ["]
    lines += _user(ADMIN_USER, ADMIN_PERMISSIONS)
    for name, perms in SERVICE_PERMISSIONS.items():
        lines += _user(name, perms)
    lines += ["    ]", "  }", "}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """``write`` or ``check``."""
    generated = {
        ACCOUNTS_FILE: (render_accounts(), "authority.py"),
        SCALED_OBJECT_FILE: (render_scaled_object(), "keda_scaling.py"),
    }
    if argv[:1] == ["write"]:
        for path, (wanted, _) in generated.items():
            path.write_text(wanted, encoding="utf-8")
            print(f"wrote {path}")
        return 0
    if argv[:1] == ["check"]:
        stale = [
            (p, src)
            for p, (wanted, src) in generated.items()
            if not p.exists() or p.read_text(encoding="utf-8") != wanted
        ]
        for path, source in stale:
            print(f"{path} differs from {source} (run `just infra`)", file=sys.stderr)
        if stale:
            return 1
        print("infra/nats/accounts.conf and infra/k8s-keda/agent-runner-scaledobject.yaml match the code")
        return 0
    print("usage: python -m animas_tools.infra write|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
