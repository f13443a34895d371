"""The sliding window of ``contextWindowCompression``, as the emulator applies it.

google-genai documents the mechanism (``ContextWindowCompressionConfig``, ``SlidingWindow``):
``trigger_tokens`` is the context size, before running a turn, that starts compression; the
context is then cut to about ``target_tokens`` (half the trigger when not set) by dropping
content from its start, always at the start of a user turn. The emulator drops whole turns
from the start until the context is at most ``target_tokens``, never the current turn. Which
share of the context limit the service uses when ``trigger_tokens`` is missing is not
published: without it the emulator does not compress.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .protocol import ProtocolError

__all__ = ["SlidingWindow"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class SlidingWindow:
    """A connection's compression settings, in tokens."""

    trigger_tokens: int
    target_tokens: int

    @classmethod
    def from_setup(cls, raw: Mapping[str, object]) -> SlidingWindow | None:
        """Read the settings from a setup message (either key spelling); ``None`` if off.

        Raises:
            ProtocolError: token counts that are not positive integers.
        """
        config = _field(raw, "contextWindowCompression", "context_window_compression")
        if not isinstance(config, Mapping):
            return None
        trigger = _tokens(_field(config, "triggerTokens", "trigger_tokens"))
        window = _field(config, "slidingWindow", "sliding_window")
        if trigger is None or not isinstance(window, Mapping):
            return None
        target = _tokens(_field(window, "targetTokens", "target_tokens"))
        return cls(trigger, trigger // 2 if target is None else target)

    def apply(self, turns: Sequence[_T], tokens: Callable[[_T], int]) -> list[_T]:
        """Return the turns left in context once the window has acted (oldest first)."""
        kept = list(turns)
        total = sum(tokens(turn) for turn in kept)
        if total <= self.trigger_tokens:
            return kept
        while len(kept) > 1 and total > self.target_tokens:
            total -= tokens(kept.pop(0))
        return kept


def _field(body: Mapping[str, object], camel: str, snake: str) -> object:
    return body.get(camel, body.get(snake))


def _tokens(value: object) -> int | None:
    # int64 fields arrive as JSON strings from some clients.
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ProtocolError("contextWindowCompression token counts must be positive integers")
    return value
