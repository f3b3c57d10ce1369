"""Readable labels of sessions that belong to something above a session.

An experiment (`exp:NAME`, in the dsl package) owns one session per sampling
node, keyed by its AST path; people name such a session by a label,
`exp:NAME/best_xy/argmax:mean`, not by its generated `search:...` name. This
package cannot know what an experiment is (a lower layer never imports a
higher one), so the owners plug in through the entry-point group
``slurm_search.session_labels``: an entry point named after the owner's type
(``exp``) points to a module (or object) with

- ``resolve(label) -> str``: the session `label` names (raises `UnknownLabel`);
- ``groups() -> list[Group]``-like tuples ``(owner, status, {label: session})``
  of every owner in the store.

`resolve` here sends a label (a text holding a `/`, or `TYPE:NAME` of an
owner's type: the owner's outermost session) to the owner of its type and any
other text to `session_name`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from ._errors import InvalidSetting, UnknownLabel
from ._names import session_name

logger = logging.getLogger(__name__)

GROUP = "slurm_search.session_labels"


@dataclass(frozen=True)
class Labelled:
    """A session's place under its owner.

    Attributes:
        session: the session's `type:name`.
        label: its label (`exp:NAME/best_xy/argmax:mean`).
        owner: the owner (`exp:NAME`).
        owner_status: the owner's status (`running`, `complete`, `stopped`...).
    """

    session: str
    label: str
    owner: str
    owner_status: str


def _providers() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def check_not_owned(name: str) -> None:
    """Refuse a session name whose type belongs to an owner (``exp``: run_exp's runs).

    ``TYPE:NAME`` of an owner's type is read everywhere as the owner
    (`resolve`), so such a session could not be named, and the owner's
    commands would find an object they did not write.

    Raises:
        InvalidSetting: the name's type is an owner's.
    """
    owner_type = name.split(":", 1)[0]
    provider = _providers().get(owner_type)
    if provider is not None:
        owner = provider.dist.name if provider.dist is not None else provider.value
        raise InvalidSetting(
            "name", name, f"another type than {owner_type!r}: {owner_type}:NAME names a run of {owner}, not a session"
        )


def resolve(text: str) -> str:
    """The session's full name for a session name or a label.

    Raises:
        InvalidSessionName: not a session name, and not a label.
        UnknownLabel: a label no installed owner resolves.
    """
    if not isinstance(text, str) or ("/" not in text and ":" not in text):
        return session_name(text)
    owner_type = text.split(":", 1)[0] if ":" in text else ""
    provider = _providers().get(owner_type)
    if provider is not None:
        return provider.load().resolve(text)
    if "/" in text:
        known = ", ".join(sorted(_providers())) or "none installed"
        raise UnknownLabel(text, f"is not a label of a known owner type (types: {known})")
    return session_name(text)


def labelled() -> dict[str, Labelled]:
    """Every labelled session in the store: session name -> its label and owner.

    An owner type whose entry point fails to load or read is skipped with a
    warning: labels are a convenience, never a reason to fail a listing.
    """
    from slurm_search.locking import settings

    settings.home()  # a bad SLURM_SEARCH_HOME is the caller's error, not a plug-in's
    found: dict[str, Labelled] = {}
    for name, ep in sorted(_providers().items()):
        try:
            groups = ep.load().groups()
        except Exception as err:  # a broken plug-in must not break the listing
            logger.warning("labels of %s sessions are unavailable: %s", name, err)
            continue
        for owner, status, sessions in groups:
            for label, session in sessions.items():
                found.setdefault(session, Labelled(session, label, owner, status))
    return found
