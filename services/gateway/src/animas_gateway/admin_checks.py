"""What a person's change must satisfy before it becomes an event: the bodies, and each field's value.

Everything here either returns the checked value or raises :class:`Refused` with the HTTP status
and a message. The rules that need to know which animas exist take them as an argument (the
handler asks memory-writer); the rest is pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import TypeVar

import msgspec

from animas_contracts import InvalidAnimaName, validate_anima_name
from animas_core.anima_files import AnimaSpec
from animas_core.config import AnimaWorksConfig, credential_env_var
from animas_gateway import fields

T = TypeVar("T")

CREDENTIAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class Refused(Exception):
    """A change refused before it is published: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class CreateRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /api/animas``: a name and a template role, or a character sheet's Markdown."""

    name: str
    template: str | None = None
    character_sheet: str | None = None
    supervisor: str | None = None


class IdentityRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /api/animas/{name}/identity``. ``author`` is refused: the author is who is calling."""

    content: str
    reason: str = "edited by a person"
    author: str | None = None


class InjectionRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PUT /api/animas/{name}/injection``: the whole new injection.md (the author is who is calling)."""

    content: str


class StatusRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``PATCH /api/animas/{name}/status``: the fields people may change here."""

    enabled: bool | None = None
    supervisor: str | None = None
    model: str | None = None
    credential: str | None = None


def decode(body: bytes, kind: type[T]) -> T:
    """The request body as ``kind``; 422 naming what is wrong."""
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise Refused(422, f"invalid request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise Refused(422, f"the request is not valid JSON: {exc}") from None


def anima_name(value: str) -> str:
    """A valid anima name (422 otherwise)."""
    try:
        return validate_anima_name(value)
    except InvalidAnimaName as exc:
        raise Refused(422, str(exc)) from None


def supervisor(value: str, anima: str, animas: Collection[str]) -> str:
    """An existing anima other than ``anima`` itself."""
    try:
        name = validate_anima_name(value)
    except InvalidAnimaName:
        raise Refused(
            422, f"'supervisor' must be the name of an anima here; {_shown(value)} is not a name"
        ) from None
    if name == anima:
        raise Refused(422, "an anima cannot be its own supervisor")
    if name not in animas:
        raise Refused(
            422, f"'supervisor' must be the name of an anima here; there is no anima named {name!r}"
        )
    return name


def credential(value: str, config: AnimaWorksConfig) -> str:
    """The name of a credential the system has (in config.json, or a key in the environment)."""
    if not CREDENTIAL_NAME.fullmatch(value):
        raise Refused(
            422, f"'credential' {_shown(value)} is not a credential name (letters, digits, _ and -)"
        )
    if config.credential(value) is None:
        raise Refused(
            422,
            f"'credential' {value!r} is not configured: add it to config.json's credentials "
            f"(`anima config set credentials.{value}.base_url ...`; the key may come from "
            f"{credential_env_var(value)})",
        )
    return value


def model(value: str) -> str:
    """A model name (see :data:`animas_gateway.fields.MODEL_NAME`)."""
    try:
        return fields.model_name(value)
    except fields.FieldError as exc:
        raise Refused(422, str(exc)) from None


def spec_settings(spec: AnimaSpec, animas: Collection[str], config: AnimaWorksConfig) -> None:
    """The settings a new anima's files and status.json will carry, wherever they came from."""
    if spec.supervisor is not None:
        supervisor(spec.supervisor, spec.name, animas)
    if spec.model is not None:
        model(spec.model)
    if spec.credential is not None:
        credential(spec.credential, config)
    if spec.speciality is not None:
        field_value(lambda: fields.one_line("speciality", spec.speciality or "", fields.MAX_REASON_CHARS))


def field_value(check: Callable[[], object]) -> None:
    """Run a :mod:`~animas_gateway.fields` check and turn its complaint into a 422."""
    try:
        check()
    except fields.FieldError as exc:
        raise Refused(422, str(exc)) from None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "…")
