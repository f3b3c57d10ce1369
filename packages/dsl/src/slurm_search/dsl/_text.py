"""Shortening text for people without cutting a number in half.

A value cut at a fixed width (``-0.030...``) reads as another number. Text
is cut only between words (at a space, after ``,`` or ``;``), and the cut
says so with `` ...``; a text with nowhere to cut is kept whole.
"""

from __future__ import annotations

__all__ = ["shorten"]

MARK = " ..."


def shorten(text: str, width: int) -> str:
    """``text`` if it fits in ``width``, else its words that fit, then `` ...``."""
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, max(width - len(MARK) + 1, 1))
    if cut <= 0:
        return text  # one long word: a whole value beats a wrong one
    return text[:cut].rstrip(",;") + MARK
