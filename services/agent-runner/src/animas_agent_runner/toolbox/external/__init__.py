"""External tools: one plugin interface (:mod:`.plugin`), registered on the one tool surface.

:func:`external_tools` turns every :class:`~.plugin.Plugin` into a
:class:`~animas_agent_runner.toolbox.registry.Tool` of the surface every execution mode uses.
Such a tool is not the anima's own: it is denied unless permissions.md lists its permission
under Available Tools (and refused, whatever permissions.md says, while config.json does not
configure it). Each call is a ``tool.used`` event like any other (the arguments and the result;
keys live in config and headers, never in either), and the text the model reads is framed as
untrusted content from outside (:mod:`animas_agent_runner.prompt.untrusted`).
"""

from __future__ import annotations

import httpx

from animas_agent_runner.prompt.untrusted import tool_result_label, untrusted
from animas_agent_runner.toolbox.context import ToolContext
from animas_agent_runner.toolbox.errors import ToolFailed
from animas_agent_runner.toolbox.external import chatwork, github, http_fetch, mail, slack, web_search
from animas_agent_runner.toolbox.external.plugin import Call, Plugin
from animas_agent_runner.toolbox.registry import Args, Tool
from animas_agent_runner.toolbox.surface import MAX_RESULT_CHARS
from animas_core.config import AnimaWorksConfig

PLUGINS: tuple[Plugin, ...] = (
    web_search.PLUGIN,
    http_fetch.PLUGIN,
    github.PLUGIN,
    slack.PLUGIN,
    chatwork.PLUGIN,
    mail.PLUGIN,
)
"""Every external tool, in the order the model sees them."""

FRAME_CHARS = 100
"""Room for the fence's markers and the cut note within the surface's result limit."""
EXTERNAL_TIMEOUT_S = 30.0
"""The shared client's default per-request timeout (each tool sets its own from config)."""


def external_client() -> httpx.AsyncClient:
    """The client external tools share.

    It follows no redirect by itself (http_fetch checks each one) and takes no proxy or netrc
    from the environment.
    """
    return httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=EXTERNAL_TIMEOUT_S)


def external_tools(
    config: AnimaWorksConfig, http: httpx.AsyncClient, plugins: tuple[Plugin, ...] = PLUGINS
) -> tuple[Tool, ...]:
    """The plugins as tools of the surface, configured by ``config``, calling through ``http``."""
    return tuple(_tool(plugin, plugin.configure(config), http) for plugin in plugins)


def _tool(plugin: Plugin, configured: Call | str, http: httpx.AsyncClient) -> Tool:
    refusal = configured if isinstance(configured, str) else None

    async def run(ctx: ToolContext, args: Args, ordinal: int) -> str:
        if isinstance(configured, str):
            raise ToolFailed(configured)  # unreachable: the surface refuses it first
        try:
            text = await configured(args, http)
        except httpx.TimeoutException:
            raise ToolFailed(f"{plugin.name} timed out") from None
        except httpx.HTTPError as exc:
            # The message names the request (method and URL), never its headers or keys.
            raise ToolFailed(f"{plugin.name} could not reach the service ({type(exc).__name__})") from None
        label = tool_result_label(plugin.name, plugin.origin)
        room = MAX_RESULT_CHARS - len(label) - FRAME_CHARS
        if len(text) > room:
            # Cut here, inside the fence: the surface's own cut would drop the closing marker.
            text = text[:room] + "\n… (cut)"
        return untrusted(label, text)

    return Tool(
        plugin.name,
        plugin.description,
        plugin.args,
        run,
        own=False,
        refusal=refusal,
        permission=plugin.permission,
        guide=plugin.guide,
        external=True,
    )
