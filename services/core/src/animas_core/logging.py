"""Structured logging: one JSON object per line on stderr, with secrets redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# user:password@ in URLs, and values of keys that look like secrets.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+:[^/@\s]+@", re.IGNORECASE)
_SECRET_ASSIGNMENT = re.compile(
    r"(?P<key>api[_-]?key|password|secret|token|authorization)(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\s\"',}]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Mask credentials embedded in URLs and ``key=value`` pairs that name a secret."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)
    return _SECRET_ASSIGNMENT.sub(r"\g<key>\g<sep>***", text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: ts, level, service, logger, msg and any extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record of the process to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream logs every message at INFO; keep that for debugging only.
    logging.getLogger("faststream").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
