"""Generate the event catalogue from contracts: a JSON Schema per event type and an AsyncAPI document.

``python -m animas_tools.schemas write`` regenerates ``contracts/schemas/``; ``check`` exits
non-zero when the committed files differ from what the contracts produce (CI runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from animas_contracts import (
    REGISTRY,
    AnimaListReply,
    BoardReply,
    BoardRequest,
    DeadLetter,
    MemoryReadReply,
    MemoryReadRequest,
    PrimeReply,
    PrimeRequest,
    RebuildReply,
    RebuildRequest,
    ReindexReply,
    ReindexRequest,
    SearchReply,
    SearchRequest,
    SnapshotReply,
    SnapshotRequest,
    SyncReply,
    current_version,
    type_tag,
)
from animas_contracts.names import ANIMA_NAME_PATTERN
from animas_contracts.operations import ReplayReply, ReplayRequest
from animas_contracts.subjects import RPC_MEMORY_REBUILD, RPC_MEMORY_SNAPSHOT

OPERATION_TYPES: tuple[type[msgspec.Struct], ...] = (
    DeadLetter,
    RebuildRequest,
    RebuildReply,
    SnapshotRequest,
    SnapshotReply,
    MemoryReadRequest,
    MemoryReadReply,
    AnimaListReply,
    SyncReply,
    BoardRequest,
    BoardReply,
    PrimeRequest,
    PrimeReply,
    SearchRequest,
    SearchReply,
    ReindexRequest,
    ReindexReply,
    ReplayRequest,
    ReplayReply,
)
"""Request/reply payloads (not events): their schemas are published too."""

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "contracts" / "schemas"


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema for every event type at its current version."""
    out: dict[str, dict[str, Any]] = {}
    for cls in REGISTRY.types():
        schema = msgspec.json.schema(cls)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"{type_tag(cls)} v{current_version(cls)}"
        out[f"events/{type_tag(cls)}.v{current_version(cls)}.json"] = schema
    for record in OPERATION_TYPES:
        schema = msgspec.json.schema(record)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[f"operations/{record.__name__}.json"] = schema
    return out


def asyncapi() -> dict[str, Any]:
    """A minimal AsyncAPI 3.0 document of the subjects and the messages on them."""
    anima_param = {"description": f"Anima name, pattern {ANIMA_NAME_PATTERN}"}
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls in REGISTRY.types():
        tag = type_tag(cls)
        key = tag.replace(".", "_")
        messages[key] = {
            "name": tag,
            "title": tag,
            "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": f"events/{tag}.v{current_version(cls)}.json"},
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {"type": "string", "description": "The event id (duplicates dropped)"},
                    "traceparent": {"type": "string", "description": "W3C trace context"},
                },
            },
        }
        channels[key] = {
            "address": f"activity.{{anima}}.{tag}",
            "parameters": {"anima": anima_param},
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
    channels["deadletter"] = {
        "address": "deadletter.{service}",
        "parameters": {"service": {"description": "The service that gave up on the message"}},
        "messages": {"DeadLetter": {"payload": {"$ref": "operations/DeadLetter.json"}}},
    }
    channels["memory_rebuild"] = {
        "address": RPC_MEMORY_REBUILD,
        "messages": {
            "RebuildRequest": {"payload": {"$ref": "operations/RebuildRequest.json"}},
            "RebuildReply": {"payload": {"$ref": "operations/RebuildReply.json"}},
        },
    }
    channels["memory_snapshot"] = {
        "address": RPC_MEMORY_SNAPSHOT,
        "messages": {
            "SnapshotRequest": {"payload": {"$ref": "operations/SnapshotRequest.json"}},
            "SnapshotReply": {"payload": {"$ref": "operations/SnapshotReply.json"}},
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "AnimaWorks activity log",
            "version": "1",
            "description": "Subjects carry no version; payloads carry `v` and are upcast on read.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages},
    }


def generated() -> dict[str, str]:
    """Relative path → file text of everything this module generates."""
    files = {name: _dump(schema) for name, schema in event_schemas().items()}
    files["asyncapi.json"] = _dump(asyncapi())
    return files


def write(root: Path = SCHEMA_DIR) -> list[str]:
    """Write the catalogue, removing generated files that no longer exist; return what changed."""
    changed = drift(root)
    wanted = generated()
    for name, text in wanted.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for path in root.rglob("*.json"):
        if str(path.relative_to(root)) not in wanted:
            path.unlink()
    return changed


def drift(root: Path = SCHEMA_DIR) -> list[str]:
    """Files that differ between the commit and the contracts (missing, changed or stale)."""
    wanted = generated()
    problems = []
    for name, text in wanted.items():
        path = root / name
        if not path.exists():
            problems.append(f"missing: {name}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"changed: {name}")
    if root.exists():
        for path in root.rglob("*.json"):
            if str(path.relative_to(root)) not in wanted:
                problems.append(f"stale: {path.relative_to(root)}")
    return problems


def main(argv: list[str]) -> int:
    """``write`` or ``check``."""
    if argv[:1] == ["write"]:
        changed = write()
        print("\n".join(changed) if changed else "schemas already up to date")
        return 0
    if argv[:1] == ["check"]:
        problems = drift()
        if problems:
            print("the committed schemas differ from contracts/ (run `just schemas`):", file=sys.stderr)
            print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
            return 1
        print(f"schemas match contracts ({len(generated())} files)")
        return 0
    print("usage: python -m animas_tools.schemas write|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
