"""Which frames are still in a Gemini Live session's context, so their tokens are billed again.

Gemini bills the whole context on every turn. Without context-window compression every frame
sent stays in it; with the sliding window (``contextWindowCompression``), once the context
passes ``trigger_tokens`` the service drops whole turns from its start until about
``target_tokens`` remain (google-genai ``SlidingWindow``: "Context window will always be cut at
start of USER role turn"; ``target_tokens`` defaults to half of ``trigger_tokens``). A session
that reconnects without its resumption handle starts from an empty context too.

``ContextFrames`` follows that from the outside. It splits the context into one segment per
turn, sized by how much the prompt grew, and tags each with the frames sent since the turn
before. A prompt smaller than the last one means content left: the oldest segments that no
longer fit go, with their frames; so do they once the last prompt plus the new frames passes
a known ``trigger_tokens``, even when the prompt did not shrink. The result estimates the
image tokens in context this turn, never more than the prompt grew by while they were sent.
"""

from __future__ import annotations

import dataclasses
from collections import deque

from google.genai import types

__all__ = ["ContextFrames", "SlidingWindowLimits"]


@dataclasses.dataclass(frozen=True)
class SlidingWindowLimits:
    """A session's sliding-window compression settings, in tokens."""

    trigger_tokens: int
    """Context size above which the service compresses before running a turn."""
    target_tokens: int
    """What the service keeps after compressing (half the trigger when not set)."""

    @classmethod
    def from_config(
        cls, config: types.ContextWindowCompressionConfig | None
    ) -> SlidingWindowLimits | None:
        """Read the limits from the config given to the model; ``None`` without a trigger.

        Raises:
            ValueError: ``config`` is not a ``ContextWindowCompressionConfig``, or its token
                counts are not positive with the target below the trigger.
        """
        if config is None:
            return None
        if not isinstance(config, types.ContextWindowCompressionConfig):
            raise ValueError(
                "context_window_compression must be a google.genai.types."
                "ContextWindowCompressionConfig or None"
            )
        trigger = config.trigger_tokens
        if trigger is None:
            # The service then compresses at a share of the model's context limit that no
            # public source pins down: only observed drops in the prompt tell.
            return None
        window = config.sliding_window
        target = window.target_tokens if window is not None else None
        target = trigger // 2 if target is None else target
        if trigger <= 0 or not 0 < target < trigger:
            raise ValueError(
                "context_window_compression needs trigger_tokens > 0 and "
                "0 < sliding_window.target_tokens < trigger_tokens"
            )
        return cls(trigger_tokens=trigger, target_tokens=target)


@dataclasses.dataclass(frozen=True)
class _Segment:
    tokens: int
    """How much the prompt grew with this turn."""
    image: int
    """Estimated image tokens of the frames sent for this turn (at most ``tokens``)."""


class ContextFrames:
    """Estimates the image tokens in a session's context, turn by turn."""

    def __init__(self, limits: SlidingWindowLimits | None = None) -> None:
        """Follow a session whose sliding window is ``limits`` (``None``: unknown or off)."""
        self._limits = limits
        self._segments: deque[_Segment] = deque()
        self._last_prompt: int | None = None
        self._sent_before = 0
        self.drops = 0
        """Turns whose prompt was smaller than the one before (compression or a new context)."""

    @property
    def limits(self) -> SlidingWindowLimits | None:
        """The sliding-window settings known, if any."""
        return self._limits

    @property
    def image_tokens(self) -> int:
        """Estimated image tokens in context as of the last turn."""
        return sum(segment.image for segment in self._segments)

    def on_turn(self, prompt_tokens: int, image_tokens_sent: int) -> int:
        """Record one turn and return the estimated image tokens in its context.

        Args:
            prompt_tokens: The turn's whole prompt, as the server counted it.
            image_tokens_sent: The streamer's running estimate of every frame sent so far.
        """
        if prompt_tokens <= 0:
            # No prompt count (a response-only message): the frames wait for the next turn.
            return self.image_tokens
        new_image = max(image_tokens_sent - self._sent_before, 0)
        self._sent_before = max(image_tokens_sent, self._sent_before)
        if self._compressed(prompt_tokens, new_image):
            self.drops += 1
            kept = self._drop_oldest(room=prompt_tokens - new_image)
        else:
            kept = sum(segment.tokens for segment in self._segments)
        grown = max(prompt_tokens - kept, 0)
        self._segments.append(_Segment(tokens=grown, image=min(new_image, grown)))
        self._last_prompt = prompt_tokens
        return self.image_tokens

    def _compressed(self, prompt_tokens: int, new_image: int) -> bool:
        """Whether content left the context since the last turn.

        Seen as a prompt smaller than the last one, or, with known limits, as a context that
        must have passed the trigger: the last prompt plus at least the new frames.
        """
        last = self._last_prompt
        if last is None:
            return False
        passed = self._limits is not None and last + new_image > self._limits.trigger_tokens
        return prompt_tokens < last or passed

    def _drop_oldest(self, *, room: int) -> int:
        """Keep the newest segments that fit in ``room`` tokens; return their size."""
        if self._limits is not None:
            room = min(room, self._limits.target_tokens)
        kept: deque[_Segment] = deque()
        size = 0
        for segment in reversed(self._segments):
            if size + segment.tokens > room:
                break
            kept.appendleft(segment)
            size += segment.tokens
        self._segments = kept
        return size
