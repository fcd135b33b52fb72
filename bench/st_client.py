"""A Streamlit client without a browser: it speaks the protocol the browser speaks, over `/_stcore/stream`.

The browser (streamlit 1.67's frontend, `static/js/index.*.js`) opens a websocket to `/_stcore/stream` with the
subprotocol "streamlit" and sends protobuf `BackMsg`s; the server answers with protobuf `ForwardMsg`s. A run starts
with a `BackMsg.rerun_script` (`ClientState`): on page load with the page's URL path as `page_name` and an empty
`page_script_hash`, later with the current page's hash and every widget's value in `widget_states`. The server then
streams `delta`s (the page's elements, each at a `metadata.delta_path`: `[0, ...]` the main area, `[1, ...]` the
sidebar), `page_info_changed` (the query string the browser puts in its address bar), `script_finished`, and
`session_status_changed` with `script_is_running = false` once the run is over. A run is "finished" here at that
last message: the moment the browser drops its running indicator.

This client keeps what the browser keeps for a run: the elements by path, the widgets by id, key and label, the
query string, the pages of `st.navigation`. It sends no cached-message hashes, so the server sends every message in
full (the browser would get some as `ref_hash` from its cache; the server's work is the same).

    async with Session(base_url, "employment") as session:   # base_url like "http://127.0.0.1:8501"
        opened = await session.open()                         # -> Run: seconds, elements, status
        widget = session.widget("municipalities")            # by key (or label)
        helsinki = session.option(widget, "Helsinki")          # "Helsinki (Helsingfors)"
        run = await session.set_widget(widget, [*session.value(widget), helsinki])
        assert "Helsinki" in run.text()

`websockets` is the client library: streamlit 1.67 serves with uvicorn and already requires it (it no longer depends
on tornado).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import websockets
from google.protobuf import text_format
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

RUN_TIMEOUT_S = 120.0  # one run slower than this is an error, not a figure
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # the server's own limit (server.maxMessageSize) is 200 MB
WIDGET_TYPES = ("multiselect", "selectbox", "radio", "checkbox", "toggle", "slider", "button", "segmented_control",
                "button_group", "text_input", "number_input")


class RunError(RuntimeError):
    """A run did not finish, or finished with an error the browser would show."""


@dataclass
class Run:
    """One script run as the client saw it, from the request to `script_is_running = false`."""

    seconds: float
    statuses: list[str]  # every script_finished of the request (a st.rerun adds FINISHED_EARLY_FOR_RERUN)
    elements: dict[tuple[int, ...], object]  # delta path -> Element, as they stand after the run
    exceptions: list[str] = field(default_factory=list)
    messages: int = 0
    bytes: int = 0
    trace: list[tuple[float, str]] = field(default_factory=list)  # (seconds since the start, message type)

    def text(self, area: int | None = 0) -> str:
        """Every element of an area (0 the main area, 1 the sidebar, None both) as protobuf text, UTF-8."""
        return "\n".join(text_format.MessageToString(element, as_utf8=True)
                         for path, element in sorted(self.elements.items()) if area is None or path[:1] == (area,))


class Session:
    """One browser tab: one websocket, one Streamlit session."""

    def __init__(self, base_url: str, page: str = "", query: str = "", *, timezone: str = "Europe/Helsinki",
                 locale: str = "fi-FI") -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = self.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/_stcore/stream"
        self.page = page
        self.query = query
        self.timezone = timezone
        self.locale = locale
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # url path -> page script hash, from the navigation message
        self.elements: dict[tuple[int, ...], object] = {}
        self.widgets: dict[str, object] = {}  # widget id -> its element's widget proto
        self.values: dict[str, tuple[str, object]] = {}  # widget id -> (WidgetState field, value) sent so far
        self.socket = None
        self._reader: asyncio.Task | None = None
        self._messages: asyncio.Queue = asyncio.Queue()
        self._closed = False

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def connect(self) -> None:
        self.socket = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=MAX_MESSAGE_BYTES,
                                               open_timeout=RUN_TIMEOUT_S, compression=None)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        self._closed = True
        if self.socket is not None:
            await self.socket.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing; the reader's end does not matter
                pass

    async def _read(self) -> None:
        try:
            async for data in self.socket:
                self._messages.put_nowait(data)
        finally:
            self._messages.put_nowait(None)  # the connection ended

    # --- what the browser sends ---

    async def open(self) -> Run:
        """Connect and run the page as a page load does; times from the connection's start to the finished run."""
        started = time.perf_counter()
        await self.connect()
        return await self._rerun(started, page_name=self.page, page_hash="")

    async def goto(self, url_path: str) -> Run:
        """Go to another page of st.navigation, as a click in the sidebar's navigation does."""
        page_hash = self.pages[url_path]
        self.elements.clear()
        self.widgets.clear()
        self.values.clear()  # the browser keeps only the widgets of the new page, here none are known yet
        return await self._rerun(time.perf_counter(), page_name="", page_hash=page_hash)

    async def set_widget(self, widget, value) -> Run:
        """Give a widget a new value and rerun, as the browser does on a change; times from the send to the end."""
        kind = _value_field(widget)
        self.values[widget.id] = (kind, value)
        if getattr(widget, "query_param_key", ""):
            self._bind_query(widget, value)
        return await self._rerun(time.perf_counter(), page_name="", page_hash=self.page_hash)

    async def _rerun(self, started: float, page_name: str, page_hash: str) -> Run:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_script_hash = page_hash
        state.page_name = page_name
        info = state.context_info
        info.timezone = self.timezone
        info.locale = self.locale
        info.url = f"{self.base_url}/{self.page}" + (f"?{self.query}" if self.query else "")
        info.color_scheme = "light"
        for widget_id, (kind, value) in self.values.items():
            widget_state = state.widget_states.widgets.add()
            widget_state.id = widget_id
            if kind == "string_array_value":
                widget_state.string_array_value.data[:] = list(value)
            elif kind == "int_array_value":
                widget_state.int_array_value.data[:] = list(value)
            elif kind == "double_array_value":
                widget_state.double_array_value.data[:] = list(value)
            else:
                setattr(widget_state, kind, value)
        await self.socket.send(message.SerializeToString())
        return await self._until_finished(started)

    async def _until_finished(self, started: float) -> Run:
        statuses: list[str] = []
        exceptions: list[str] = []
        count = size = 0
        deadline = started + RUN_TIMEOUT_S
        touched: set[tuple[int, ...]] = set()
        trace: list[tuple[float, str]] = []
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise RunError(f"no finished run within {RUN_TIMEOUT_S:.0f} s (finished: {statuses})")
            try:
                data = await asyncio.wait_for(self._messages.get(), timeout=remaining)
            except TimeoutError:
                continue
            if data is None:
                raise RunError(f"the server closed the connection (finished: {statuses})")
            count += 1
            size += len(data)
            message = ForwardMsg()
            message.ParseFromString(data)
            kind = message.WhichOneof("type")
            trace.append((time.perf_counter() - started, kind))
            if kind == "delta":
                touched.add(tuple(message.metadata.delta_path))
                self._delta(message, exceptions)
            elif kind == "new_session":
                self.page_hash = message.new_session.page_script_hash or self.page_hash
            elif kind == "navigation":
                self.page_hash = message.navigation.page_script_hash
                self.pages = {page.url_pathname: page.page_script_hash for page in message.navigation.app_pages}
            elif kind == "page_info_changed":
                self.query = message.page_info_changed.query_string
            elif kind == "page_not_found":
                raise RunError(f"page not found: {message.page_not_found.page_name!r}")
            elif kind == "ref_hash":
                raise RunError("the server sent a cached message by reference; this client keeps no cache")
            elif kind == "script_finished":
                statuses.append(ForwardMsg.ScriptFinishedStatus.Name(message.script_finished))
            elif kind == "session_status_changed":
                running = message.session_status_changed.script_is_running
                if not running and statuses and statuses[-1] != "FINISHED_EARLY_FOR_RERUN":
                    seconds = time.perf_counter() - started
                    self._prune(touched)
                    run = Run(seconds, statuses, dict(self.elements), exceptions, count, size, trace)
                    if "FINISHED_WITH_COMPILE_ERROR" in statuses:
                        raise RunError(f"the script did not compile: {statuses}")
                    return run

    def _delta(self, message: ForwardMsg, exceptions: list[str]) -> None:
        path = tuple(message.metadata.delta_path)
        delta = message.delta
        if delta.WhichOneof("type") != "new_element":
            self.elements.pop(path, None)  # a block or transient replaces what was at its path
            return
        element = delta.new_element
        self.elements[path] = element
        kind = element.WhichOneof("type")
        if kind == "exception":
            exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif kind in WIDGET_TYPES:
            self.widgets[getattr(element, kind).id] = getattr(element, kind)

    def _prune(self, touched: set[tuple[int, ...]]) -> None:
        """After a finished run the browser drops the elements the run did not send (stale ones)."""
        for path in [path for path in self.elements if path not in touched]:
            del self.elements[path]

    def _bind_query(self, widget, value) -> None:
        """A widget bound to the URL (`bind="query-params"`): the browser writes its value into the address before
        the rerun, repeated keys for a list (`municipalities=Hollola&municipalities=Lahti`)."""
        key = widget.query_param_key
        pairs = [(name, item) for name, item in parse_qsl(self.query, keep_blank_values=True) if name != key]
        pairs += [(key, item) for item in (value if isinstance(value, list | tuple) else [value])]
        self.query = urlencode(pairs)

    # --- what the page shows ---

    def widget(self, key_or_label: str, kind: str | None = None):
        """The widget whose user key or label is `key_or_label` (ids end in the key: `$$ID-<hash>-<key>`)."""
        found = [widget for widget in self.widgets.values()
                 if (widget.id.endswith(f"-{key_or_label}") or widget.label == key_or_label)
                 and (kind is None or widget.DESCRIPTOR.name.lower() == kind.lower())]
        if not found:
            raise KeyError(f"no widget {key_or_label!r} on the page; widgets: "
                           + ", ".join(f"{w.label!r} ({w.id})" for w in self.widgets.values()))
        return found[-1]

    @staticmethod
    def option(widget, name: str) -> str:
        """The widget's option that is `name` or starts with it ("Helsinki" -> "Helsinki (Helsingfors)")."""
        options = list(widget.options)
        if name in options:
            return name
        found = [option for option in options if option.startswith(name)]
        if not found:
            raise KeyError(f"{widget.label!r} has no option {name!r}")
        return found[0]

    def value(self, widget):
        """The widget's current value as the browser would send it."""
        if widget.id in self.values:
            return self.values[widget.id][1]
        name = widget.DESCRIPTOR.name
        if name == "MultiSelect":
            return list(widget.raw_values) if widget.set_value or widget.raw_values else \
                [widget.options[index] for index in widget.default]
        if name == "Selectbox":
            return widget.raw_value if widget.HasField("raw_value") else (
                widget.options[widget.default] if widget.HasField("default") else None)
        raise NotImplementedError(f"value of a {name}")


def _value_field(widget) -> str:
    name = widget.DESCRIPTOR.name
    return {"MultiSelect": "string_array_value", "Selectbox": "string_value", "Checkbox": "bool_value",
            "Radio": "string_value", "TextInput": "string_value"}.get(name) or _unsupported(name)


def _unsupported(name: str) -> str:
    raise NotImplementedError(f"setting a {name} is not supported by this client")
