"""A frozen snapshot of what a session has cost so far, per bucket, with text and JSON forms."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from typing import Literal, TypeAlias

from .pricing import ModelPricing
from .usage import Bucket, UnattributedPolicy

__all__ = ["BucketCost", "BudgetStatus", "CostReport", "JSONValue", "RebilledImage"]

JSONValue: TypeAlias = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
"""A value ``json.dumps`` accepts."""


@dataclasses.dataclass(frozen=True)
class BucketCost:
    """One line of the bill."""

    bucket: Bucket
    """What the tokens are."""
    tokens: int
    """Tokens counted in the session so far."""
    usd_per_million: Decimal | None
    """The rate applied; ``None`` when the model has no known prices."""
    usd: Decimal | None
    """Exact cost of the line; ``None`` when the model has no known prices."""
    exact: bool
    """Whether the server reported these tokens as such; ``False`` for lines priced by policy,
    recovered from totals, estimated, or that LiveKit's metrics cannot carry."""


@dataclasses.dataclass(frozen=True)
class BudgetStatus:
    """Where the session stands against its budget, and when, at the current rate, it gets there."""

    soft_usd: Decimal | None = None
    """The soft limit; ``None`` for none."""
    hard_usd: Decimal | None = None
    """The hard limit; ``None`` for none."""
    step: Literal["none", "soft", "hard"] = "none"
    """The furthest limit crossed."""
    soft_at_seconds: float | None = None
    """Session time when the soft limit was crossed."""
    hard_at_seconds: float | None = None
    """Session time when the hard limit was crossed."""
    minutes_to_soft: float | None = None
    """Minutes left before the soft limit at ``CostReport.usd_per_minute_now`` (0 once crossed;
    ``None`` without a soft limit or a rate)."""
    minutes_to_hard: float | None = None
    """Minutes left before the hard limit, likewise."""

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the status as plain values (money as decimal strings)."""
        return {
            "soft_usd": _money(self.soft_usd),
            "hard_usd": _money(self.hard_usd),
            "step": self.step,
            "soft_at_seconds": self.soft_at_seconds,
            "hard_at_seconds": self.hard_at_seconds,
            "minutes_to_soft": _round(self.minutes_to_soft),
            "minutes_to_hard": _round(self.minutes_to_hard),
        }


@dataclasses.dataclass(frozen=True)
class RebilledImage:
    """Image tokens billed beyond the frames sent: frames still in context, billed every turn."""

    billed_tokens: int
    """Image tokens in the bill (reported by the server or estimated)."""
    sent_tokens: int
    """The frames sent, each counted once (the streamer's estimate)."""
    usd: Decimal | None
    """What the re-billed tokens cost; ``None`` without prices."""
    share: float | None
    """``usd`` as a share of the session's cost; ``None`` without prices or cost."""

    @property
    def tokens(self) -> int:
        """Image tokens billed again because their frames were still in context."""
        return max(self.billed_tokens - self.sent_tokens, 0)

    def sentence(self) -> str:
        """One line for people: why the image tokens billed exceed the frames sent, and the cost."""
        cost = ""
        if self.usd is not None:
            cost = f", {self.usd:,.6f} USD"
            if self.share is not None:
                cost += f" ({self.share:.1%} of this call's cost)"
        return (
            f"Image tokens billed ({self.billed_tokens:,}) exceed those of the frames sent "
            f"({self.sent_tokens:,}) because Gemini bills every frame still in the context again "
            f"on each turn: {self.tokens:,} tokens re-billed{cost}."
        )


@dataclasses.dataclass(frozen=True)
class CostReport:
    """What a Gemini Live session has cost so far. Money is exact; only ``render`` rounds."""

    model: str
    """The model priced."""
    pricing: ModelPricing | None
    """The prices applied; ``None`` when the model is unknown (costs are then ``None``)."""
    unattributed_policy: UnattributedPolicy
    """How prompt tokens of unknown modality were priced."""
    buckets: tuple[BucketCost, ...]
    """Every line of the bill, in a fixed order."""
    total_usd: Decimal | None
    """The session's cost: the sum of every turn's cost; ``None`` without known prices."""
    turns: int
    """Usage messages counted (one per turn; per-connection zero-usage metrics excluded)."""
    session_seconds: float
    """Time from the start of accounting to now, or to the session's end."""
    image_tokens_reported: int
    """IMAGE and VIDEO prompt tokens the server reported (exact, re-billed every turn)."""
    image_tokens_estimated: int
    """Image tokens filled in from the streamer's estimate, in turns without an image
    breakdown (VIDEO tokens are lost in LiveKit's metrics)."""
    frames_sent: int | None = None
    """Frames the attached streamer sent; ``None`` with no streamer."""
    estimated_image_tokens_sent: int | None = None
    """The streamer's estimate of those frames' tokens, each counted once; ``None`` with no
    streamer. Gemini re-bills frames in context every turn, so the billed figure is higher."""
    image_tokens_in_context: int | None = None
    """Estimated image tokens of the frames still in context at the last turn (frames the
    sliding window dropped no longer count); ``None`` with no streamer."""
    context_drops: int = 0
    """Turns whose prompt shrank: the context was compressed or started afresh."""
    usd_per_minute_now: Decimal | None = None
    """The current rate: the cost of the last two minutes' turns per minute of that time (the
    whole session while shorter); ``None`` without prices or time. Gemini re-bills the context
    every turn, so this rises through a call unless compression bounds the context."""
    budget: BudgetStatus = BudgetStatus()
    """The budget's limits, the steps taken and the minutes left at the current rate."""

    def bucket(self, bucket: Bucket | str) -> BucketCost:
        """Return the line of ``bucket``.

        Raises:
            ValueError: ``bucket`` names no bucket.
        """
        wanted = Bucket(bucket)
        return next(line for line in self.buckets if line.bucket is wanted)

    @property
    def image_estimated(self) -> bool:
        """Whether the image line holds estimated tokens."""
        return self.image_tokens_estimated > 0

    @property
    def rebilled_image(self) -> RebilledImage | None:
        """Image tokens billed beyond the frames sent, and their cost (``None``: no streamer)."""
        if self.estimated_image_tokens_sent is None:
            return None
        line = self.bucket(Bucket.INPUT_IMAGE)
        rebilled = max(line.tokens - self.estimated_image_tokens_sent, 0)
        usd = None
        if line.usd_per_million is not None:
            usd = (line.usd_per_million * rebilled).scaleb(-6)
        share = None
        if usd is not None and self.total_usd:
            share = float(usd / self.total_usd)
        return RebilledImage(
            billed_tokens=line.tokens,
            sent_tokens=self.estimated_image_tokens_sent,
            usd=usd,
            share=share,
        )

    @property
    def usd_per_minute(self) -> Decimal | None:
        """Average cost per minute so far; ``None`` without prices or elapsed time."""
        if self.total_usd is None or self.session_seconds <= 0:
            return None
        return self.total_usd * 60 / Decimal(repr(self.session_seconds))

    def projection(self, minutes: float) -> Decimal | None:
        """Return what ``minutes`` more minutes would cost at the average rate so far.

        Gemini re-bills the whole context each turn, so unless context compression bounds it,
        later minutes cost more than earlier ones: read the projection as a floor.

        Raises:
            ValueError: ``minutes`` is negative or not finite.
        """
        if isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise ValueError("minutes must be a number")
        if not math.isfinite(minutes) or minutes < 0:
            raise ValueError("minutes must be a finite number >= 0")
        rate = self.usd_per_minute
        return None if rate is None else rate * Decimal(repr(minutes))

    def to_dict(self) -> dict[str, JSONValue]:
        """Return the report as plain values ``json.dumps`` accepts (money as decimal strings)."""
        pricing: JSONValue = None
        if self.pricing is not None:
            pricing = {
                f.name: _json_field(getattr(self.pricing, f.name))
                for f in dataclasses.fields(self.pricing)
            }
        return {
            "model": self.model,
            "pricing": pricing,
            "unattributed_policy": self.unattributed_policy,
            "buckets": {
                line.bucket.value: {
                    "tokens": line.tokens,
                    "usd_per_million": _money(line.usd_per_million),
                    "usd": _money(line.usd),
                    "exact": line.exact,
                }
                for line in self.buckets
            },
            "total_usd": _money(self.total_usd),
            "turns": self.turns,
            "session_seconds": self.session_seconds,
            "usd_per_minute": _money(self.usd_per_minute),
            "image_tokens": {
                "reported": self.image_tokens_reported,
                "estimated": self.image_tokens_estimated,
                "frames_sent": self.frames_sent,
                "estimated_sent": self.estimated_image_tokens_sent,
                "in_context": self.image_tokens_in_context,
            },
            "context_drops": self.context_drops,
            "usd_per_minute_now": _money(self.usd_per_minute_now),
            "budget": self.budget.to_dict(),
        }

    def render(self) -> str:
        """Return the report as one readable text table (USD rounded to 6 places)."""
        rows = [("bucket", "tokens", "USD/1M", "USD", "")]
        for line in self.buckets:
            if line.tokens:
                rows.append(
                    (
                        line.bucket.value,
                        f"{line.tokens:,}",
                        _show(line.usd_per_million, places=2),
                        _show(line.usd),
                        "" if line.exact else "~",
                    )
                )
        rows.append(("total", f"{sum(line.tokens for line in self.buckets):,}", "", "", ""))
        rows.append(("total USD", "", "", _show(self.total_usd), ""))
        rows.append(("turns", f"{self.turns:,}", "", "", ""))
        rows.append(("minutes", f"{self.session_seconds / 60:,.1f}", "", "", ""))
        rows.append(("USD per minute", "", "", _show(self.usd_per_minute), ""))
        rows.append(("USD per minute now", "", "", _show(self.usd_per_minute_now), ""))
        rows.append(("next 10 minutes (floor)", "", "", _show(self.projection(10)), ""))
        for name, limit, left in (
            ("soft", self.budget.soft_usd, self.budget.minutes_to_soft),
            ("hard", self.budget.hard_usd, self.budget.minutes_to_hard),
        ):
            if limit is not None:
                when = "n/a" if left is None else f"{left:,.1f}"
                rows.append((f"minutes to {name} limit ({limit} USD)", when, "", "", ""))
        rows.append(("image tokens, server", f"{self.image_tokens_reported:,}", "", "", ""))
        if self.estimated_image_tokens_sent is not None:
            sent = f"{self.estimated_image_tokens_sent:,}"
            rows.append(("image tokens, frames sent (est.)", sent, "", "", "~"))
        if self.image_estimated:
            filled = f"{self.image_tokens_estimated:,}"
            rows.append(("image tokens filled by estimate", filled, "", "", "~"))
        if self.frames_sent is not None:
            rows.append(("frames sent", f"{self.frames_sent:,}", "", "", ""))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [f"Gemini Live cost, {self.model}"]
        if self.pricing is None:
            lines.append("prices unknown for this model: costs are not computed")
        else:
            lines.append(f"prices as of {self.pricing.as_of.isoformat()}: {self.pricing.source}")
        for row in rows:
            label, *numbers, mark = row
            cells = [label.ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(numbers, widths[1:4], strict=True)]
            lines.append("  ".join([*cells, mark]).rstrip())
        lines.append("~ not exact: priced by policy, recovered from totals or estimated")
        rebilled = self.rebilled_image
        if rebilled is not None and rebilled.tokens:
            lines.append(rebilled.sentence())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _money(value: Decimal | None) -> str | None:
    # Plain notation without trailing zeros: "0.042", never "0.04200000" or "4.2E-2".
    return None if value is None else f"{value.normalize():f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _show(value: Decimal | None, *, places: int = 6) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{places}f}"


def _json_field(value: object) -> JSONValue:
    # Decimal rates, the source URL and the ISO date, as strings.
    if isinstance(value, Decimal):
        return _money(value)
    return None if value is None else str(value)
