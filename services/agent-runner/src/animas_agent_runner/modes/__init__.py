"""Execution modes: how one cycle turns a prompt into a reply (DESIGN §7).

Every mode takes the same inputs and the same tool surface (:class:`~animas_agent_runner.ports.ToolRunner`);
they differ in who drives: the model (the tool loop, for ``anthropic`` and ``litellm``) or the
framework (``assisted``, one completion with a structured reply). Which provider client serves a
model is the caller's choice, so a fallback model may use another provider than the primary.
"""
