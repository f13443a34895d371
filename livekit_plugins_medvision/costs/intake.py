"""Usage messages checked before they are priced: malformed ones refused, repeats counted once.

Usage is not taken on faith. A message with a negative count, a count that is not an integer,
or a count beyond any real turn (``MAX_TOKENS``) is refused whole: it is never priced, and the
tracker warns once per session. A message seen again is counted once:

- LiveKit's ``RealtimeModelMetrics`` by request id (one per generation) and token counts, so the
  same metric delivered twice counts once while two reports of one generation both count;
- Gemini's ``UsageMetadata``, which carries no id, by identity (the same object);
- across the two ways in (``attach()`` and ``track_usage()`` both seeing one turn): a metric and
  a usage message with the same prompt, response and total counts are one turn, counted by
  whichever came first. Two turns of a session with equal counts, one seen each way only, would
  count once; in a Live session each turn re-bills the growing context, so counts do not repeat.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from google.genai import types
from livekit.agents.metrics import RealtimeModelMetrics

from ..log import logger

__all__ = ["MAX_TOKENS", "UsageIntake", "metrics_problem", "usage_problem"]

MAX_TOKENS = 10**9
"""The largest count a usage message may carry: a thousand times the largest Gemini context
window. More is garbage, and would overflow the ledger's ``numeric(14, 6)`` total."""

_Signature = tuple[int, int, int]

_USAGE_COUNTS = (
    "prompt_token_count",
    "response_token_count",
    "total_token_count",
    "thoughts_token_count",
    "tool_use_prompt_token_count",
    "cached_content_token_count",
)
_USAGE_DETAILS = (
    "prompt_tokens_details",
    "response_tokens_details",
    "cache_tokens_details",
    "tool_use_prompt_tokens_details",
)


def usage_problem(usage: types.UsageMetadata) -> str | None:
    """Return what makes ``usage`` unfit to price (naming the field), or ``None``."""
    for name in _USAGE_COUNTS:
        problem = _count_problem(name, getattr(usage, name), optional=True)
        if problem:
            return problem
    for name in _USAGE_DETAILS:
        details: object = getattr(usage, name)
        if details is None:
            continue
        if not isinstance(details, list):
            return f"{name} is not a list"
        for detail in details:
            count = detail.token_count if isinstance(detail, types.ModalityTokenCount) else -1
            problem = _count_problem(f"{name}.token_count", count, optional=True)
            if problem:
                return problem
    return None


def metrics_problem(metrics: RealtimeModelMetrics) -> str | None:
    """Return what makes ``metrics`` unfit to price (naming the field), or ``None``."""
    inp, out = metrics.input_token_details, metrics.output_token_details
    cached = inp.cached_tokens_details
    counts: Iterable[tuple[str, object]] = (
        ("input_tokens", metrics.input_tokens),
        ("output_tokens", metrics.output_tokens),
        ("total_tokens", metrics.total_tokens),
        ("input_token_details.text_tokens", inp.text_tokens),
        ("input_token_details.audio_tokens", inp.audio_tokens),
        ("input_token_details.image_tokens", inp.image_tokens),
        ("input_token_details.cached_tokens", inp.cached_tokens),
        ("output_token_details.text_tokens", out.text_tokens),
        ("output_token_details.audio_tokens", out.audio_tokens),
        ("output_token_details.image_tokens", out.image_tokens),
        *(
            (f"cached_tokens_details.{k}", getattr(cached, k))
            for k in ("text_tokens", "audio_tokens", "image_tokens")
            if cached is not None
        ),
    )
    for name, value in counts:
        problem = _count_problem(name, value, optional=False)
        if problem:
            return problem
    return None


class UsageIntake:
    """Decides, message by message, whether a tracker counts it (see the module notes).

    One per session: the first refusal is logged as a warning naming the field at fault (never
    a value), later ones only counted in ``refused``.
    """

    def __init__(self) -> None:
        # The objects are kept, so that their ids cannot be reused by new messages.
        self._usage_seen: dict[int, types.UsageMetadata] = {}
        self._requests_seen: set[tuple[str, _Signature]] = set()
        # Turns counted one way that the other way has not seen yet, by their counts.
        self._unmatched_usage: Counter[_Signature] = Counter()
        self._unmatched_metrics: Counter[_Signature] = Counter()
        self.refused = 0
        """Messages refused as malformed."""
        self.repeated = 0
        """Messages not counted because they were counted already."""

    def admit_usage(self, usage: types.UsageMetadata) -> bool:
        """Return whether to count ``usage`` (not malformed, not seen before)."""
        if self._refuse(usage_problem(usage)):
            return False
        if id(usage) in self._usage_seen:
            return self._repeat()
        self._usage_seen[id(usage)] = usage
        signature = (
            usage.prompt_token_count or 0,
            usage.response_token_count or 0,
            usage.total_token_count or 0,
        )
        return self._first_of_turn(signature, self._unmatched_metrics, self._unmatched_usage)

    def admit_metrics(self, metrics: RealtimeModelMetrics) -> bool:
        """Return whether to count ``metrics`` (not malformed, not seen before)."""
        if self._refuse(metrics_problem(metrics)):
            return False
        signature = (metrics.input_tokens, metrics.output_tokens, metrics.total_tokens)
        key = (metrics.request_id, signature)
        if key in self._requests_seen:
            return self._repeat()
        self._requests_seen.add(key)
        return self._first_of_turn(signature, self._unmatched_usage, self._unmatched_metrics)

    def _first_of_turn(
        self, signature: _Signature, other_way: Counter[_Signature], this_way: Counter[_Signature]
    ) -> bool:
        if other_way[signature] > 0:
            other_way[signature] -= 1
            return self._repeat()
        this_way[signature] += 1
        return True

    def _refuse(self, problem: str | None) -> bool:
        if problem is None:
            return False
        self.refused += 1
        if self.refused == 1:
            logger.warning(
                "a usage message was refused and not priced (%s); later refusals in this"
                " session are counted, not logged",
                problem,
            )
        return True

    def _repeat(self) -> bool:
        self.repeated += 1
        return False


def _count_problem(name: str, value: object, *, optional: bool) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{name} is not an integer"
    if value < 0:
        return f"{name} is negative"
    if value > MAX_TOKENS:
        return f"{name} is beyond {MAX_TOKENS:,} tokens"
    return None
