"""Anima names become NATS subject tokens and directory names, so they are validated at every edge."""

from __future__ import annotations

import re

ANIMA_NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"
ANIMA_NAME_MAX_LENGTH = 64
_ANIMA_NAME = re.compile(ANIMA_NAME_PATTERN)


class InvalidAnimaName(ValueError):
    """An anima name that cannot be used as a subject token or directory name."""


def validate_anima_name(name: str) -> str:
    """Return ``name`` unchanged if it is a valid anima name, else raise :class:`InvalidAnimaName`.

    Valid names start with a lowercase ASCII letter, continue with lowercase letters, digits,
    ``_`` or ``-``, and are at most 64 characters long. This keeps them safe as a single NATS
    subject token (no ``.``, ``*``, ``>`` or whitespace) and as a directory name.
    """
    if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidAnimaName("anima name must be a non-empty string")
    if len(name) > ANIMA_NAME_MAX_LENGTH:
        raise InvalidAnimaName(
            f"anima name {name[:20]!r}... is {len(name)} characters; the limit is {ANIMA_NAME_MAX_LENGTH}"
        )
    if not _ANIMA_NAME.fullmatch(name):
        raise InvalidAnimaName(
            f"invalid anima name {name!r}: use lowercase letters, digits, '_' or '-', "
            f"starting with a letter (pattern {ANIMA_NAME_PATTERN})"
        )
    return name


def is_valid_anima_name(name: str) -> bool:
    """Return whether ``name`` passes :func:`validate_anima_name`."""
    try:
        validate_anima_name(name)
    except InvalidAnimaName:
        return False
    return True
