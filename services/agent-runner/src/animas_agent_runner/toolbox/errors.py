"""How a tool says no. Both become a tool error the model reads, never an exception out of a cycle."""

from __future__ import annotations


class ToolDenied(Exception):
    """The anima's permissions (or a protected-file rule) refuse the call; nothing was done.

    The message is shown to the model and recorded in the ``tool.used`` event, so it names the
    rule that refused, e.g. ``"/project/.env is an invisible location"``.
    """


class ToolFailed(Exception):
    """The call was allowed but could not be done (missing file, bad arguments, non-zero exit)."""
