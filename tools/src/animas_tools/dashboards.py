"""What the Grafana dashboards query: the metric names in their PromQL, read from the JSON files.

The dashboards in ``infra/observability/grafana/dashboards`` are plain Grafana JSON. Every
panel's target ``expr`` and every templating variable's query is PromQL (or Grafana's
``label_values(metric, label)``); :func:`queried_metrics` takes the metric names out of one, by
dropping what is not a name (strings, label matchers, ranges, grouping labels, Grafana's
variables, function calls, keywords). tests/unit/test_dashboards.py holds them against the table
of emitted metrics, animas_core.instruments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DASHBOARDS = Path("infra/observability/grafana/dashboards")
"""Where the dashboards live, from the repository root."""

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_VARIABLES = re.compile(r"\$\{[^}]*\}|\$\w+")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,")
# A whole word (nothing word-like on either side), not a function's name (no "(" after it).
_NAMES = re.compile(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:]|\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"inf", "nan", "atan2"}
)


def queried_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a ``label_values`` query) reads."""
    found = _LABEL_VALUES.match(expr)
    if found:  # label_values(metric, label): the second argument is a label, not a metric
        return {found.group(1)}
    text = expr
    for pattern in (_STRINGS, _VARIABLES, _MATCHERS, _RANGES, _GROUPING):
        text = pattern.sub(" ", text)
    # A number's exponent or a duration left behind is preceded by a digit: the lookbehind skips it.
    return {name for name in _NAMES.findall(text) if name.lower() not in _KEYWORDS}


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, query) for every panel target and templating variable of one dashboard's JSON."""
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if "expr" in target:
                yield f"panel {panel.get('title')!r} target {target.get('refId')}", str(target["expr"])
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            text = query.get("query", "") if isinstance(query, dict) else str(query or "")
            yield f"variable {variable.get('name')!r}", text


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Panels, with those folded inside rows."""
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_metrics(folder: Path = DASHBOARDS) -> dict[str, set[str]]:
    """Each dashboard file's name → every metric it queries."""
    return {
        path.name: {
            name
            for _, query in queries(json.loads(path.read_text(encoding="utf-8")))
            for name in queried_metrics(query)
        }
        for path in sorted(folder.glob("*.json"))
    }
