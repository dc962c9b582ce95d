"""A scripted fake LLM server speaking the OpenAI chat-completions and Anthropic Messages formats.

Point litellm, the openai SDK or the anthropic SDK at :attr:`ScriptedLLM.openai_base` or
:attr:`ScriptedLLM.anthropic_base`; each request takes the next :class:`Turn` of the script
(text, tool calls, an error, a delay, a hold), streamed when the request asks for a stream, and
is recorded for assertions. Run it standalone with
``python -m animas_tools.scripted_llm --script turns.json``.
"""

from animas_tools.scripted_llm.command import main
from animas_tools.scripted_llm.script import ScriptedToolCall, Turn, to_turns
from animas_tools.scripted_llm.server import ScriptedLLM

__all__ = ["ScriptedLLM", "ScriptedToolCall", "Turn", "main", "to_turns"]
