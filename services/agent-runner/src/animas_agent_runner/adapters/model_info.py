"""What is known about a model by name: its context window, from litellm's bundled table."""

from __future__ import annotations

import functools
import gc
import os
from types import ModuleType

DEFAULT_CONTEXT_WINDOW = 32_000
"""For models litellm does not know (local servers, new names): a size most current models exceed.

Too small a guess only trims the prompt to a lower tier; too large a guess would overflow a small
model, so the guess is modest. Set ``context_window`` for the anima to say the real size.
"""


@functools.cache
def context_window(model: str) -> int:
    """The model's input window in tokens, or :data:`DEFAULT_CONTEXT_WINDOW` when unknown."""
    try:
        info = litellm_module().get_model_info(model)
    except Exception:
        # litellm raises plain Exception for unknown models.
        return DEFAULT_CONTEXT_WINDOW
    size = info.get("max_input_tokens") or info.get("max_tokens")
    return int(size) if size else DEFAULT_CONTEXT_WINDOW


@functools.cache
def litellm_module() -> ModuleType:
    """litellm, imported when first needed rather than when agent-runner starts.

    The import costs ~3 s of CPU and its objects ~1.5 s more when the process exits; a start
    (every ``anima up``, every e2e test's system) that never calls a litellm model pays neither.
    """
    # litellm fetches a price list from the internet at import unless told to use its local copy.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # its hints go to stdout, outside our structured logs
    # Its objects live as long as the process: kept out of the collector's walks, at exit too
    # (as animas_core.runtime does for what start-up loaded; tearing litellm down took ~1.5 s).
    gc.freeze()
    return litellm
