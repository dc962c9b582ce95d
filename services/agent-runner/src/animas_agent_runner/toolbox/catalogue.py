"""Every tool of the surface, in the order the model sees them."""

from __future__ import annotations

from animas_agent_runner.toolbox.board_tools import BOARD_TOOLS
from animas_agent_runner.toolbox.delegation_tools import DELEGATION_TOOLS
from animas_agent_runner.toolbox.memory_tools import MEMORY_TOOLS
from animas_agent_runner.toolbox.messaging_tools import MESSAGING_TOOLS
from animas_agent_runner.toolbox.notify_tools import NOTIFY_TOOLS
from animas_agent_runner.toolbox.procedure_tools import PROCEDURE_TOOLS
from animas_agent_runner.toolbox.registry import Tool
from animas_agent_runner.toolbox.skill_tools import SKILL_TOOLS
from animas_agent_runner.toolbox.task_tools import TASK_TOOLS
from animas_agent_runner.toolbox.workspace_tools import WORKSPACE_TOOLS

ALL_TOOLS: tuple[Tool, ...] = (
    *MEMORY_TOOLS,
    *PROCEDURE_TOOLS,
    *MESSAGING_TOOLS,
    *BOARD_TOOLS,
    *NOTIFY_TOOLS,
    *TASK_TOOLS,
    *DELEGATION_TOOLS,
    *SKILL_TOOLS,
    *WORKSPACE_TOOLS,
)
