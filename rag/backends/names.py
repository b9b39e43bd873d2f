"""The answer backends' names, defined once: Settings, the CLI, the API and the page all take them from here.

No imports beyond `typing`, so `rag.config` can use it without a cycle."""

from __future__ import annotations

from typing import Literal, get_args

BackendName = Literal["extractive", "local", "openai", "fake"]
BACKENDS: tuple[str, ...] = get_args(BackendName)
DEVELOPMENT = frozenset({"fake"})  # deterministic, no model: for tests and development, not offered to users


def offered(default: str) -> list[str]:
    """The names a user picks from: every real backend, and the configured one even if it is for development."""
    return [n for n in BACKENDS if n not in DEVELOPMENT or n == default]
