"""A headless visitor: opens a page of the app as the browser does, over Streamlit's own protocol.

Many visitors fit on one machine beside the server (all of them in one event
loop, a millisecond or so of CPU per message), so a class of 30-100 can be
measured where 30 Chromiums could not run. What it does is what Streamlit's
browser client (``static/js/index.*.js`` of the installed Streamlit) does:

- It requests the page (``GET /Compare_seeds?seeds=2,3``: the HTML), then
  ``/_stcore/health`` and ``/_stcore/host-config``, as the client pings them before
  connecting.
- It opens ``ws://host/_stcore/stream`` with the subprotocols ``streamlit`` and the
  XSRF token (``PLACEHOLDER_AUTH_TOKEN`` when there is none, as there is none before
  a first page load), with the page's ``Origin``.
- It sends one ``BackMsg.rerun_script``: the query string, the page's name (its
  path, ``""`` for the main page) and no page hash, the browser's context
  (timezone, locale, URL, colour scheme), and the hashes of the messages it has
  cached (none yet).
- It reads every ``ForwardMsg``. A ``ref_hash`` message is answered from its own
  message cache (cacheable messages are kept by hash, pruned after
  ``max_cached_message_age`` runs as the browser prunes them); ``new_session``
  gives the page's hash for later reruns; ``page_info_changed`` the page's new
  query string.
- ``auto_rerun`` (a fragment with ``run_every``) starts a timer: every interval it
  sends ``rerun_script`` with the fragment's id and ``is_auto_rerun``, whether or
  not a run is under way, as the browser's ``setInterval`` does; ``stop_auto_rerun``
  and a new full run end the timers.
- It fetches the media the elements reference (``/media/...``), each address once: an
  image's, as the browser loads an ``<img>`` whose address is new, and a download
  button's file, which the browser fetches when the button appears to check that it is
  there (not a deferred one, made only on a click).
- Nothing is acknowledged: the protocol has no acks (``heartbeat_ack`` answers an
  ``app_heartbeat``, which the browser sends only when a host page asks it to).

Differences: the browser sends its widgets' values with every rerun, this
visitor sends none (the server then keeps the values it has: an absent widget
is not a changed one, so no ``on_change`` runs either way); it loads none of the
browser's own scripts (1-2 s in Chromium here before it connects); and it leaves
as soon as the finished run has ended and its media are in, so it misses the
``session_status_changed`` that follows, which a browser still on the page gets.

A visit records when its first visible element arrived, when the element
holding the page's finished text arrived (the Explore page's "6 hidden units
in a 2 x 3 grid"), every exception or error element, and what it received and
sent. ``python -m bench.visitor URL PATH TEXT`` makes one visit and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SUBPROTOCOL = "streamlit"
NO_TOKEN = "PLACEHOLDER_AUTH_TOKEN"  # what the browser sends before it has an XSRF cookie
INVISIBLE = frozenset({"empty", "skeleton"})  # elements that show nothing
PROBLEM_ALERT = Alert.ERROR  # st.error: the pages' short message in place of a traceback
PLACE = re.compile(r"(\d+)(?:st|nd|rd|th) in line")
CONTEXT = {"timezone": "UTC", "timezone_offset": 0, "locale": "en-US", "is_embedded": False,
           "color_scheme": "light"}


@dataclass
class Visit:
    """What one visitor saw of one page; times are seconds after it asked for the page."""

    path: str  # "/?random_state=3", "/Compare_seeds?seeds=2,3"
    done_text: str  # the text of the page's finished state
    opened_at: float = 0.0  # when it asked for the page (time.monotonic)
    asked: float | None = None  # the first rerun request went out (the page's connected)
    first_element: float | None = None  # the first element that shows something
    finished: float | None = None  # the element holding ``done_text``
    loaded: float | None = None  # the finished page's run ended and its media were in
    left: float | None = None  # when the visitor closed the page
    messages: int = 0
    received: Counter = field(default_factory=Counter)  # "delta.progress", "auto_rerun", ...
    sent: Counter = field(default_factory=Counter)  # "rerun_script", "rerun_script.fragment"
    first_sent: dict[str, bytes] = field(default_factory=dict)  # kind -> its first message
    first_seen: dict[str, float] = field(default_factory=dict)  # element kind -> first arrival
    first_place: int | None = None  # the first "Nth in line" it was shown
    problems: list[str] = field(default_factory=list)
    media_urls: list[str] = field(default_factory=list)  # each media address met, once
    media: int = 0  # media files loaded
    media_gone: int = 0  # not found: a live view's frame the server let go before its load
    media_bytes: int = 0
    cpu_seconds: float = 0.0  # this thread's CPU for reading its messages

    @property
    def ok(self) -> bool:
        return self.finished is not None and not self.problems

    def as_dict(self) -> dict:
        """For JSON (``dataclasses.asdict`` would take a Counter's items for its keys)."""
        return {**vars(self), "received": dict(self.received), "sent": dict(self.sent),
                "first_sent": {kind: raw.hex() for kind, raw in self.first_sent.items()}}


class Page:
    """The browser's side of one page, without the network: reads ``ForwardMsg`` bytes into a
    ``Visit`` and writes the ``BackMsg`` bytes the browser would send."""

    def __init__(self, visit: Visit, base_url: str, *, clock=time.monotonic):
        self.visit, self.base_url, self._clock = visit, base_url.rstrip("/"), clock
        parts = urlsplit(visit.path)
        self.page_name = parts.path.strip("/")
        self.query_string = parts.query
        self.page_hash = ""  # the page's own, from the server's first answer on
        visit.opened_at = clock()
        self.timers: dict[str, float] = {}  # fragment id -> seconds between its reruns
        self.new_media: list[str] = []  # media addresses to fetch
        self.done = False  # the finished text arrived and its full run ended
        self._cache: dict[str, tuple[bytes, int, str]] = {}  # hash -> (message, run, fragment)
        self._runs, self._max_age = 0, 2  # script runs seen; how many a message outlives

    def rerun(self, fragment_id: str = "") -> bytes:
        """The ``rerun_script`` message: the page's first, or a fragment's timed rerun."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash
        state.page_name = "" if self.page_hash else self.page_name
        state.fragment_id = fragment_id
        state.is_auto_rerun = bool(fragment_id)
        state.cached_message_hashes.extend(self._cache)
        # The page's address without its query (``st.context.url``), as the browser sends it.
        state.context_info.CopyFrom(ContextInfo(url=f"{self.base_url}/{self.page_name}",
                                                **CONTEXT))
        raw = message.SerializeToString()
        self.sent(raw, message)
        return raw

    def sent(self, raw: bytes, message: BackMsg) -> None:
        """Count a request that went to the server."""
        if message.WhichOneof("type") != "rerun_script":
            return
        kind = "rerun_script.fragment" if message.rerun_script.is_auto_rerun else "rerun_script"
        self.visit.sent[kind] += 1
        self.visit.first_sent.setdefault(kind, raw)
        if self.visit.asked is None:
            self.visit.asked = self._clock() - self.visit.opened_at

    def read(self, raw: bytes) -> None:
        """One message from the server."""
        began = time.thread_time()
        message = ForwardMsg()
        message.ParseFromString(raw)
        if message.WhichOneof("type") == "ref_hash":
            message = self._cached(message)
        else:
            self._keep(message, raw)
        if message is not None:
            self._read(message)
        self.visit.messages += 1
        self.visit.cpu_seconds += time.thread_time() - began

    def _read(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind != "delta":
            self.visit.received[kind] += 1
        if kind == "delta":
            self._delta(message)
        elif kind == "new_session":
            self.page_hash = self.page_hash or message.new_session.page_script_hash
            self._max_age = message.new_session.config.max_cached_message_age
            if not message.metadata.run.fragment_ids:
                self.timers.clear()  # a full run: the browser clears every timer
        elif kind == "navigation":  # the page's own hash, as the browser keeps it for reruns
            self.page_hash = message.navigation.page_script_hash or self.page_hash
        elif kind == "auto_rerun":
            self.timers[message.auto_rerun.fragment_id] = message.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment in message.stop_auto_rerun.fragment_ids:
                self.timers.pop(fragment, None)
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "page_not_found":
            self.visit.problems.append(f"page not found: {message.page_not_found.page_name}")
        elif kind == "script_finished":
            self._finished(message)

    def _delta(self, message: ForwardMsg) -> None:
        delta = message.delta
        if delta.WhichOneof("type") != "new_element":
            self.visit.received[f"delta.{delta.WhichOneof('type')}"] += 1  # blocks, transients
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        self.visit.received[f"delta.{kind}"] += 1
        now = self._clock() - self.visit.opened_at
        self.visit.first_seen.setdefault(kind, now)
        if kind not in INVISIBLE and self.visit.first_element is None:
            self.visit.first_element = now
        texts = element_texts(element)
        if kind == "exception" or (kind == "alert" and element.alert.format == PROBLEM_ALERT):
            self.visit.problems.append(f"{kind}: {' '.join(texts)[:300]}")
        if kind == "progress" and self.visit.first_place is None:
            place = PLACE.search(element.progress.text)
            self.visit.first_place = int(place.group(1)) if place else 0
        for url in _media(element, kind):
            if url not in self.visit.media_urls:
                self.visit.media_urls.append(url)
                self.new_media.append(url)
        if self.visit.finished is None and any(self.visit.done_text in t for t in texts):
            self.visit.finished = now

    def _finished(self, message: ForwardMsg) -> None:
        status = message.script_finished
        if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            self.visit.problems.append("the script did not compile")
        if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self._prune(tuple(message.metadata.run.fragment_ids))
        if status == ForwardMsg.FINISHED_SUCCESSFULLY and self.visit.finished is not None:
            self.done = True  # the whole page ran to its end with the finished state on it

    # The message cache, as the browser's ForwardMessageCache keeps it.

    def _keep(self, message: ForwardMsg, raw: bytes) -> None:
        if message.metadata.cacheable and message.hash and message.hash not in self._cache:
            self._cache[message.hash] = (raw, self._runs, message.delta.fragment_id)

    def _cached(self, reference: ForwardMsg) -> ForwardMsg | None:
        found = self._cache.get(reference.ref_hash)
        if found is None:
            self.visit.problems.append(f"a reference to a message not cached: "
                                       f"{reference.ref_hash}")
            return None
        raw, _, fragment = found
        self._cache[reference.ref_hash] = (raw, self._runs, fragment)
        message = ForwardMsg()
        message.ParseFromString(raw)
        message.metadata.CopyFrom(reference.metadata)
        return message

    def _prune(self, fragments: tuple[str, ...]) -> None:
        self._runs += 1
        for key, (_, run, fragment) in list(self._cache.items()):
            if fragments and fragment not in fragments:
                continue  # a fragment's run ages only that fragment's messages
            if self._runs - run > self._max_age:
                del self._cache[key]


def _media(element, kind: str) -> list[str]:
    """The media files the browser fetches for an element."""
    if kind == "imgs":
        return [image.url for image in element.imgs.imgs if image.url]
    if kind == "download_button" and not element.download_button.deferred_file_id:
        return [element.download_button.url] if element.download_button.url else []
    return []


def element_texts(element) -> list[str]:
    """The words an element shows (what a person would read on it)."""
    kind = element.WhichOneof("type")
    if kind == "imgs":
        return [image.caption for image in element.imgs.imgs]
    if kind == "metric":
        return [element.metric.label, element.metric.body]
    if kind == "exception":
        return [element.exception.type, element.exception.message]
    part = getattr(element, kind, None) if kind else None
    for name in ("body", "text", "label"):
        value = getattr(part, name, None)
        if isinstance(value, str):
            return [value]
    return []


async def visit(base_url: str, path: str, done_text: str, *, timeout: float,
                linger: float = 0.0) -> Visit:
    """Open ``path`` and watch it until it has finished and its media have loaded (plus
    ``linger`` seconds), has failed, or ``timeout`` seconds have passed; then close it, as a
    person closes a tab."""
    record = Visit(path, done_text)
    page = Page(record, base_url)
    host, port = _address(base_url)
    timers: dict[str, tuple[float, asyncio.Task]] = {}  # fragment -> (interval, its timer)
    loads: list[asyncio.Task] = []
    try:
        await _get(host, port, path)  # the page's HTML
        await asyncio.gather(_get(host, port, "/_stcore/health"),
                             _get(host, port, "/_stcore/host-config"))
        async with connect(f"ws://{host}:{port}/_stcore/stream", origin=base_url.rstrip("/"),
                           subprotocols=[SUBPROTOCOL, NO_TOKEN], ping_interval=None,
                           max_size=None, open_timeout=timeout) as socket:
            await socket.send(page.rerun())
            left = timeout - (time.monotonic() - page.visit.opened_at)
            await asyncio.wait_for(_watch(socket, page, (host, port), timers, loads, linger),
                                   left)
    except TimeoutError:
        record.problems.append(f"not finished within {timeout:.0f} s")
    except (OSError, ConnectionClosed) as exc:
        record.problems.append(f"connection: {type(exc).__name__}: {exc}")
    finally:
        for _, task in timers.values():
            task.cancel()
        for task in loads:
            task.cancel()
        record.left = time.monotonic() - page.visit.opened_at
    return record


async def _watch(socket, page: Page, address: tuple[str, int], timers: dict,
                 loads: list[asyncio.Task], linger: float) -> None:
    """Read the page's messages, keep its fragment timers, load its new media; return once
    it has finished (or failed) and its media are in, ``linger`` seconds later."""
    ends_at = None
    while ends_at is None or time.monotonic() < ends_at:
        try:
            wait = None if ends_at is None else max(0.0, ends_at - time.monotonic())
            raw = await asyncio.wait_for(socket.recv(), wait)
        except TimeoutError:
            break
        page.read(raw)
        loads += [asyncio.create_task(_load(page.visit, *address, url))
                  for url in page.new_media]
        page.new_media.clear()
        _follow_timers(socket, page, timers)
        if (page.done or page.visit.problems) and ends_at is None:
            await asyncio.gather(*loads)
            page.visit.loaded = time.monotonic() - page.visit.opened_at
            ends_at = time.monotonic() + linger


def _follow_timers(socket, page: Page, timers: dict) -> None:
    """A timer for each new fragment interval; end those the page no longer has."""
    for fragment in [f for f, (every, _) in timers.items() if every != page.timers.get(f)]:
        timers.pop(fragment)[1].cancel()
    for fragment, interval in page.timers.items():
        if fragment not in timers:
            timers[fragment] = (interval, asyncio.create_task(
                _every(socket, page, fragment, interval)))


async def _every(socket, page: Page, fragment: str, interval: float) -> None:
    """``setInterval``: a rerun of the fragment every ``interval`` seconds, at a fixed rate."""
    due = time.monotonic()
    while True:
        due += interval
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        try:
            await socket.send(page.rerun(fragment))
        except ConnectionClosed:
            return


async def _load(record: Visit, host: str, port: int, url: str) -> None:
    status, size = await _get(host, port, urlsplit(url).path or url)
    if status == 200:
        record.media += 1
        record.media_bytes += size
    elif status == 404:
        record.media_gone += 1  # the browser gets the same for a frame replaced meanwhile
    else:
        record.problems.append(f"{url}: HTTP {status}")


async def _get(host: str, port: int, path: str) -> tuple[int, int]:
    """A plain HTTP/1.1 GET: its status and the size of the whole answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        answer = await reader.read()
    finally:
        writer.close()
    status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/") else b"0"
    return int(status), len(answer)


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "localhost", parts.port or 80


@dataclass(frozen=True)
class Crowd:
    """Visits made together in one event loop, and what reading them cost this thread."""

    visits: list[Visit]  # the plan's, in its order
    passers_by: list[Visit]  # the visitor who kept coming meanwhile, each visit
    cpu_seconds: float
    wall_seconds: float

    @property
    def ms_per_message(self) -> float:
        messages = sum(v.messages for v in self.visits + self.passers_by)
        return 1000 * self.cpu_seconds / messages if messages else 0.0


def run_crowd(base_url: str, plan: Sequence[tuple[float, str, str]], *, timeout: float,
              linger: float = 0.0, meanwhile: tuple[float, str, str] | None = None) -> Crowd:
    """Each ``(start, path, done_text)`` of ``plan`` is a visitor who opens ``path``
    ``start`` seconds after the first; all at once on this thread's own event loop. With
    ``meanwhile = (every, path, done_text)`` one more visitor opens ``path`` every ``every``
    seconds for as long as any of the plan's visitors is still there."""

    async def one(start: float, path: str, done_text: str) -> Visit:
        await asyncio.sleep(start)
        return await visit(base_url, path, done_text, timeout=timeout, linger=linger)

    async def everyone() -> tuple[list[Visit], list[Visit]]:
        planned = asyncio.gather(*(one(*entry) for entry in plan))
        passing: list[asyncio.Task] = []
        while meanwhile and not planned.done():
            every, path, done_text = meanwhile
            await asyncio.wait({planned}, timeout=every)
            if not planned.done():
                passing.append(asyncio.create_task(one(0.0, path, done_text)))
        return list(await planned), list(await asyncio.gather(*passing))

    cpu, wall = time.thread_time(), time.monotonic()
    visits, passers_by = asyncio.run(everyone())
    return Crowd(visits, passers_by, time.thread_time() - cpu, time.monotonic() - wall)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.visitor",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("url", help="the server, http://localhost:8501")
    parser.add_argument("path", help="the page and its query string, /?random_state=3")
    parser.add_argument("text", help="text the finished page shows")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    crowd = run_crowd(args.url, [(0.0, args.path, args.text)], timeout=args.timeout)
    print(json.dumps(crowd.visits[0].as_dict(), indent=2))
    print(f"{crowd.ms_per_message:.2f} ms of CPU per message")
    return 0 if crowd.visits[0].ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
