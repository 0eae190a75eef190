"""Fitting free text into a short field without cutting a word in half."""

from __future__ import annotations

ELLIPSIS = "…"


def shorten(text: str, limit: int = 120) -> str:
    """`text` if it fits; else cut at the last word boundary that leaves room for an ellipsis (a single word
    longer than the limit is the only thing ever cut inside)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS) + 1]
    cut = head.rfind(" ")
    head = head[:cut] if cut > 0 else head[: limit - len(ELLIPSIS)]
    return head.rstrip(" ,;:.-") + ELLIPSIS
