"""Everything a system prompt is built from, as one frozen value.

A cycle records its :class:`PromptInputs` (as :meth:`PromptInputs.to_dict`) so that the prompt can
be rebuilt offline later and diffed against a new builder (DESIGN §5, invariant 7). That is why
the inputs are plain, hashable values, and why the round trip uses JSON types only.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from animas_core.config_model import ModeName, normalise_mode

INPUTS_VERSION = 1
"""Version of the :meth:`PromptInputs.to_dict` shape; raise it when a field changes meaning."""


class PromptTrigger(enum.StrEnum):
    """Why the anima is awake: it decides which sections a prompt carries (seed 004)."""

    CHAT = "chat"
    """A message from a human."""
    INBOX = "inbox"
    """A message from another anima."""
    HEARTBEAT = "heartbeat"
    """The periodic look around (seed 003 §8.2)."""
    CRON = "cron"
    """A scheduled job of the anima's own (seed 003 §8.3)."""
    TASK = "task"
    """A task run on its own with minimal context."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class SkillInfo:
    """A skill the anima has. ``body`` is set only for skills matched to this message."""

    name: str
    description: str
    body: str | None = None
    common: bool = False
    """A common (organization-wide) skill rather than one of the anima's own: tables 14 and 15."""


class OrgMember(NamedTuple):
    """Another anima in the organization, with its role when known."""

    name: str
    role: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class PromptInputs:
    """The material of one system prompt; the builder reads nothing else.

    Texts are the files' contents as read for this cycle ("" or None when absent); ``now`` is an
    aware datetime in the anima's time zone, so the prompt states local time without the builder
    knowing any zone itself.
    """

    anima: str
    now: datetime
    trigger: PromptTrigger
    mode: ModeName
    workspace: str
    identity: str
    injection: str = ""
    permissions: str = ""
    bootstrap: str | None = None
    vision: str | None = None
    specialty: str | None = None
    current_task: str = ""
    """The text of ``state/current_task.md``."""
    pending: str = ""
    """The text of ``state/pending.md``."""
    resolutions: str = ""
    """The organization's resolution log: tasks every anima finished in the last 7 days."""
    recent_activity: str = ""
    """Priming channel B, Markdown, newest first."""
    priming: str = ""
    """The other priming channels, already Markdown (``[IMPORTANT]`` knowledge first)."""
    memory_listing: tuple[str, ...] = ()
    """Memory file paths relative to the anima directory, in the order to show them."""
    skills: tuple[SkillInfo, ...] = ()
    common_knowledge: str | None = None
    """A hint about the organization's shared reference material."""
    tool_names: tuple[str, ...] = ()
    """The tools this cycle offers the model."""
    tool_guides: tuple[str, ...] = ()
    """``name: when to use it`` for offered tools that bring a guide line (external tools)."""
    supervisor: str | None = None
    subordinates: tuple[OrgMember, ...] = ()
    peers: tuple[OrgMember, ...] = ()
    human_notifications: bool = False
    """Whether notifying humans is enabled for this anima."""
    task_description: str | None = None
    """What to do, for the task trigger (required there)."""
    message_kind: str = "message"
    """For the inbox trigger, what the other anima's message is (message, reply, report, mention):
    whether the final answer goes back to it."""
    answers_to: str | None = None
    """The anima the final answer is delivered to (it asked), whatever woke this one; None: no one."""

    def __post_init__(self) -> None:
        if not self.anima.strip():
            raise ValueError("a prompt needs the anima's name")
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            # A naive time would be read as the machine's zone: DESIGN §8 "no hard-coded time zone".
            raise ValueError("now must be an aware datetime in the anima's time zone")
        if self.trigger is PromptTrigger.TASK and not (self.task_description or "").strip():
            raise ValueError("the task trigger needs a task description")

    def to_dict(self) -> dict[str, Any]:
        """The inputs as JSON types only (recorded in an event, rebuilt by :meth:`from_dict`)."""
        data: dict[str, Any] = {"v": INPUTS_VERSION}
        for field in dataclasses.fields(self):
            data[field.name] = getattr(self, field.name)
        data["now"] = self.now.isoformat()
        data["time_zone"] = _zone_key(self.now)
        data["trigger"] = self.trigger.value
        data["memory_listing"] = list(self.memory_listing)
        data["tool_names"] = list(self.tool_names)
        data["tool_guides"] = list(self.tool_guides)
        data["skills"] = [dataclasses.asdict(skill) for skill in self.skills]
        data["subordinates"] = [member._asdict() for member in self.subordinates]
        data["peers"] = [member._asdict() for member in self.peers]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PromptInputs:
        """Inputs from :meth:`to_dict`'s output; unknown keys are ignored (newer writers).

        Raises:
            ValueError: A field is missing, of the wrong type, or the version is newer than ours.
        """
        version = data.get("v", INPUTS_VERSION)
        if not isinstance(version, int) or version > INPUTS_VERSION:
            raise ValueError(f"prompt inputs version {version!r} is newer than {INPUTS_VERSION}")
        d = _Reader(data)
        return cls(
            anima=d.text("anima"),
            now=_parse_now(d.text("now"), d.optional("time_zone")),
            trigger=PromptTrigger(d.text("trigger")),
            mode=normalise_mode(d.text("mode")),
            workspace=d.text("workspace"),
            identity=d.text("identity"),
            injection=d.text("injection", ""),
            permissions=d.text("permissions", ""),
            bootstrap=d.optional("bootstrap"),
            vision=d.optional("vision"),
            specialty=d.optional("specialty"),
            current_task=d.text("current_task", ""),
            pending=d.text("pending", ""),
            resolutions=d.text("resolutions", ""),
            recent_activity=d.text("recent_activity", ""),
            priming=d.text("priming", ""),
            memory_listing=d.texts("memory_listing"),
            skills=tuple(_skill(item) for item in d.items("skills")),
            common_knowledge=d.optional("common_knowledge"),
            tool_names=d.texts("tool_names"),
            tool_guides=d.texts("tool_guides"),
            supervisor=d.optional("supervisor"),
            subordinates=tuple(_member(item) for item in d.items("subordinates")),
            peers=tuple(_member(item) for item in d.items("peers")),
            human_notifications=d.flag("human_notifications"),
            task_description=d.optional("task_description"),
        )


def _zone_key(now: datetime) -> str | None:
    """The IANA name of ``now``'s zone, when it has one (an ISO string keeps only the offset)."""
    key = getattr(now.tzinfo, "key", None)
    return key if isinstance(key, str) else None


def _parse_now(iso: str, zone: str | None) -> datetime:
    now = datetime.fromisoformat(iso)
    if now.tzinfo is None:
        raise ValueError(f"now {iso!r} has no UTC offset")
    if zone is None:
        return now
    try:
        return now.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        # The instant is kept exactly; only the zone's name is lost on a machine without it.
        return now


class _Reader:
    """Typed access to a decoded mapping, with errors that name the field."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def _get(self, key: str, default: object) -> object:
        if key not in self._data:
            if default is _REQUIRED:
                raise ValueError(f"prompt inputs lack {key!r}")
            return default
        return self._data[key]

    def text(self, key: str, default: str | None = None) -> str:
        """A string field; required unless ``default`` is given."""
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, str):
            raise ValueError(f"prompt inputs field {key!r} must be a string, not {value!r}")
        return value

    def optional(self, key: str) -> str | None:
        value = self._get(key, None)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"prompt inputs field {key!r} must be a string or null, not {value!r}")
        return value

    def flag(self, key: str) -> bool:
        value = self._get(key, False)
        if not isinstance(value, bool):
            raise ValueError(f"prompt inputs field {key!r} must be a boolean, not {value!r}")
        return value

    def items(self, key: str) -> list[Mapping[str, Any]]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise ValueError(f"prompt inputs field {key!r} must be a list of objects")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"prompt inputs field {key!r} must be a list of strings")
        return tuple(value)


_REQUIRED = object()


def _skill(item: Mapping[str, Any]) -> SkillInfo:
    d = _Reader(item)
    return SkillInfo(
        name=d.text("name"),
        description=d.text("description", ""),
        body=d.optional("body"),
        common=d.flag("common"),
    )


def _member(item: Mapping[str, Any]) -> OrgMember:
    d = _Reader(item)
    return OrgMember(d.text("name"), d.optional("role"))
