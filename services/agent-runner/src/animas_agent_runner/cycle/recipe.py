"""What a cycle is made of, as one recorded value: ``cycle.started`` carries it (DESIGN §5, invariant 7).

The recipe holds everything the system prompt and the model requests are built from: how the
cycle was planned (mode, models, limits), the prompt's inputs (the files read, what priming
returned, the clock), the message and the conversation before it. `anima replay cycle` rebuilds
the prompt from it with the current code and re-runs the cycle against the recorded model
responses, so the recipe uses JSON types only and is versioned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from animas_agent_runner.ports import AssistantTurn, UserTurn
from animas_agent_runner.prompt import PromptInputs, build_system_prompt
from animas_agent_runner.prompt.tiny import TINY_PROMPT_BUDGET, build_tiny_prompt

RECIPE_VERSION = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class TinyInputs:
    """What the short prompt of a tiny local model is built from."""

    anima: str
    identity: str
    recalled: str
    budget: int = TINY_PROMPT_BUDGET


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlanRecord:
    """How the cycle thinks: the parts of its plan that shape requests."""

    mode: str
    model: str
    fallback: str | None
    tiny: bool
    window: int
    max_turns: int
    max_tokens: int
    context_threshold: float
    max_chains: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class CycleRecipe:
    """Everything one cycle's prompt and model requests come from."""

    plan: PlanRecord
    user_text: str
    prompt_inputs: PromptInputs | None = None
    tiny_inputs: TinyInputs | None = None
    history: tuple[UserTurn | AssistantTurn, ...] = ()
    """Earlier turns with the same peer, oldest first (a summary of older ones as the first)."""

    def system_prompt(self) -> str:
        """The system prompt this recipe gives with the code running now."""
        if self.tiny_inputs is not None:
            tiny = self.tiny_inputs
            return build_tiny_prompt(
                anima=tiny.anima, identity=tiny.identity, recalled=tiny.recalled, budget=tiny.budget
            ).text
        if self.prompt_inputs is None:
            raise ValueError("a recipe needs prompt inputs or tiny inputs")
        return build_system_prompt(self.prompt_inputs, self.plan.window).text

    def to_dict(self) -> dict[str, Any]:
        """JSON types only; :meth:`from_dict` reads it back."""
        return {
            "v": RECIPE_VERSION,
            "plan": dataclasses.asdict(self.plan),
            "user_text": self.user_text,
            "prompt_inputs": self.prompt_inputs.to_dict() if self.prompt_inputs else None,
            "tiny_inputs": dataclasses.asdict(self.tiny_inputs) if self.tiny_inputs else None,
            "history": [
                {"role": "user" if isinstance(turn, UserTurn) else "assistant", "text": turn.text}
                for turn in self.history
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CycleRecipe:
        """A recipe from :meth:`to_dict`'s output.

        Raises:
            ValueError: The record is malformed or newer than this code.
        """
        version = data.get("v")
        if not isinstance(version, int) or version > RECIPE_VERSION:
            raise ValueError(f"cycle recipe version {version!r} is not one this build reads")
        try:
            plan = PlanRecord(**data["plan"])
            tiny = data.get("tiny_inputs")
            inputs = data.get("prompt_inputs")
            history: list[UserTurn | AssistantTurn] = []
            for turn in data.get("history") or []:
                role: Literal["user", "assistant"] = turn["role"]
                history.append(UserTurn(turn["text"]) if role == "user" else AssistantTurn(turn["text"]))
            return cls(
                plan=plan,
                user_text=str(data["user_text"]),
                prompt_inputs=PromptInputs.from_dict(inputs) if inputs else None,
                tiny_inputs=TinyInputs(**tiny) if tiny else None,
                history=tuple(history),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"the cycle recipe is malformed: {exc!r}") from exc
