"""Showing text that comes from a link, a visitor or the server's disk: always as text.

``st.warning``, ``st.info`` and ``st.markdown`` render Markdown, so a shared
link could otherwise put a bold "log in again" link, or an outside image that
the visitor's browser fetches, into the page. Every notice that quotes
something a link supplied goes through ``notices`` (or ``plain``).
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from core.data import short_path

MOST_NOTICES = 3  # per field: the rest are counted in one last line
LONGEST_NOTICE = 400  # characters; the values inside are cut to ~40 where they are made
# What can start Markdown, HTML, an entity, LaTeX, a Streamlit directive (:red[..], :icon:)
# or a GFM autolink (https://..., name@host); a backslash before it shows it as itself.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>!#~$|&:@^])")
_LIST_START = re.compile(r"^(\d*)([-+.)=])")  # "- x", "+ x", "1. x" would start a list
# GFM links "https://...", "www...." and "name@host" even with the ":" or "." escaped; a
# zero-width space after the scheme (or before the "@") keeps them text, looking the same.
_AUTOLINK = re.compile(r"(https?|ftp|mailto|www|xmpp)(?=\\?[:.])|(?=\\@)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def plain(text: str, *, limit: int = LONGEST_NOTICE) -> str:
    """``text`` as Markdown that shows exactly these characters, on one line, cut to ``limit``.

    Each character that could start Markdown is escaped with a backslash, which
    CommonMark turns back into the character itself: no emphasis, link, image,
    heading, list, HTML, entity, LaTeX or Streamlit directive can start.
    """
    text = _SPACES.sub(" ", str(text)).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _LIST_START.sub(r"\1\\\2", _SPECIAL.sub(r"\\\1", text))
    return _AUTOLINK.sub(lambda found: (found.group(1) or "") + "\u200b", text)


def notices(messages, *, kind: str = "warning", icon: str | None = None,
            most: int = MOST_NOTICES) -> None:
    """Show at most ``most`` messages as text, then one line counting the others."""
    messages = list(messages)
    show = {"warning": st.warning, "info": st.info, "error": st.error}[kind]
    for message in messages[:most]:
        show(plain(message), icon=icon)
    if len(messages) > most:
        show(plain(f"… and {len(messages) - most:,} more."), icon=icon)


def folder(path: Path) -> str:
    """A server folder as a visitor may see it: whole for a visitor on this machine,
    else with the home folder as ``~`` (and only the last two parts outside it)."""
    if _local_visitor():
        return str(path)
    shown = short_path(path)
    if shown.startswith("~"):
        return shown
    return str(Path("…", *Path(path).parts[-2:]))


def _local_visitor() -> bool:
    """A browser on this machine, not through a proxy: Streamlit gives no address for
    one, it asked for localhost, and no forwarding header names another client."""
    context = st.context
    try:
        if context.ip_address is not None:
            return False
        headers = context.headers
    except (AttributeError, RuntimeError):  # no browser session
        return False
    if any(headers.get(name) for name in ("X-Forwarded-For", "Forwarded", "X-Real-Ip")):
        return False
    host = (headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
    return host in {"localhost", "127.0.0.1", "::1"}
