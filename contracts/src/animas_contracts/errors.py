"""Errors raised while reading contracts."""

from __future__ import annotations


class ContractError(ValueError):
    """A payload that does not decode into a known event type at a known version."""
