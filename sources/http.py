"""The one HTTP layer for all adapters: session factory, throttle, retries, timeouts and readable errors.

Adapters never call `requests` directly; each holds a `SourceClient` built from its source's configuration and calls
its `get`/`post`, which go through `request` here, so every source gets the same behaviour: a User-Agent, connect and
read timeouts, a throttle shared by every process on the machine (calls per time window, as the host declares),
retries with exponential backoff on 429 and 5xx that honour Retry-After, and errors that say what to do.
"""

from __future__ import annotations

import fcntl
import json
import re
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
import requests

from sources.contract import BadQuery, NotFound, ProgressCallback, SchemaChanged, SourceUnavailable

if TYPE_CHECKING:
    from sources.settings import Settings, SourceConfig

MAX_RETRIES_DEFAULT = 4  # attempts after the first, for 429 and 5xx
BACKOFF_BASE_S = 0.5  # first wait; doubles each retry
MAX_RETRY_AFTER_S = 60.0  # never sleep longer than this on a server's Retry-After
TIME_BUDGET_DEFAULT_S = 600.0  # the most one refresh spends on one host (config: time_budget_s per source)
# The `[sources.NAME]` keys `SourceClient.from_config` reads, for a kind whose client is built from them.
CLIENT_KEYS = frozenset({"max_retries", "backoff_base_s", "time_budget_s", "max_calls", "window_s"})


def make_session(user_agent: str) -> requests.Session:
    """The single session factory: one connection pool and a User-Agent that names the app."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    session.headers["Accept"] = "application/json, text/csv;q=0.9, */*;q=0.5"
    return session


class SharedThrottle:
    """At most `max_calls` calls to one host in any sliding window of `window_s` seconds, whichever process on this
    machine makes them (thread-safe too).

    The services count calls per client address, so two refreshes at once (the worker and a CLI run, or refreshes of
    two warehouses) must share one budget, or both get 429s. The calls of a host are a small JSON list of wall-clock
    times in `directory/<host>.json`, read and written under an exclusive `flock`; a process that dies leaves only
    timestamps that age out of the window.
    """

    def __init__(self, path: Path, max_calls: int, window_s: float, clock=time.time, sleep=time.sleep) -> None:
        if max_calls < 1 or window_s <= 0:
            raise ValueError("a throttle needs max_calls >= 1 and window_s > 0")
        self.path = Path(path)
        self.max_calls = max_calls
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._thread_lock = threading.Lock()  # flock excludes other processes; threads of this one queue here

    def _update(self, change) -> Any:
        """Run `change(calls) -> (calls, result)` on the host's call list under the machine-wide lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            try:
                calls = [float(moment) for moment in json.loads(handle.read() or "[]")]
            except (ValueError, TypeError):
                calls = []  # a damaged file only loses the record of recent calls, never blocks refreshes
            now = self._clock()
            calls = [moment for moment in calls if now - moment < self.window_s and moment <= now + 1]
            calls, result = change(sorted(calls), now)
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(calls))
            handle.flush()  # no fsync: other processes read the page cache; after a crash old calls have aged out
            return result

    def wait(self) -> float:
        """Block until a call is allowed; record it and return its record (pass it to `completed`)."""
        while True:
            def claim(calls: list[float], now: float):
                if len(calls) < self.max_calls:
                    return calls + [now], (now, 0.0)
                # A small margin so the oldest call has surely left the server's window too.
                return calls, (None, self.window_s - (now - calls[0]) + 0.02)
            record, pause = self._update(claim)
            if record is not None:
                return record
            self._sleep(pause)

    def completed(self, record: float) -> None:
        """Move a call's record to now, when its answer has arrived.

        The host counts a call when it arrives, which can be well after we sent it (connection set-up, a busy
        network or machine). The moment the answer is back is the latest the host can have counted the call, so
        counting from then keeps the window on the host's clock as well as ours.
        """
        def move(calls: list[float], now: float):
            if record in calls:
                calls.remove(record)
                calls.append(now)
            return calls, None
        self._update(move)


def host_throttle(directory: Path, url: str, max_calls: int, window_s: float) -> SharedThrottle:
    """The throttle for the host of `url`, shared by every process on the machine through `directory`."""
    host = urlsplit(url).netloc or "local"
    return SharedThrottle(Path(directory) / (re.sub(r"[^A-Za-z0-9._-]", "_", host) + ".json"), max_calls, window_s)


RETRY_LATER = "Try the refresh again later; the warehouse keeps its previous data."


def describe_failure(exc: requests.exceptions.RequestException, url: str,
                     timeout: tuple[float, float]) -> tuple[str, bool, str, dict[str, Any]]:
    """What went wrong with a request, in words for the person refreshing, and whether trying again can help.

    Every `requests` failure lands here: a host that does not answer, one that stalls or cuts the connection in the
    middle of its answer (worth retrying), and a host that cannot be reached at all or a malformed address (a setting
    to check, not retried). Also returns an error code and its parameters, for the app to translate.
    """
    errors = requests.exceptions
    inner = exc.args[0] if exc.args else None
    if isinstance(exc, errors.ConnectTimeout):
        return (f"the service did not accept a connection within {timeout[0]:g} s", True, "connect_timeout",
                {"seconds": f"{timeout[0]:g}"})
    if isinstance(exc, errors.ReadTimeout):
        return f"the service did not answer within {timeout[1]:g} s", True, "timeout", {"seconds": f"{timeout[1]:g}"}
    if isinstance(exc, errors.ChunkedEncodingError):
        return "the connection was cut before the whole answer arrived", True, "cut", {}
    if isinstance(exc, errors.ContentDecodingError):
        return "the answer arrived damaged (it could not be decompressed)", True, "damaged", {}
    if isinstance(exc, errors.SSLError):
        return (f"the secure connection to {url} failed ({type(inner).__name__ if inner else 'SSL'})", False,
                "connect", {"url": url})
    if isinstance(exc, errors.ConnectionError):
        if "Read timed out" in str(exc):  # requests wraps a timeout while reading the body as a ConnectionError
            return (f"the service stopped sending its answer halfway (nothing arrived for {timeout[1]:g} s)",
                    True, "stalled", {"seconds": f"{timeout[1]:g}"})
        if "RemoteDisconnected" in repr(inner) or "Connection aborted" in str(exc):
            return "the service closed the connection without answering", True, "closed", {}
        return (f"cannot connect to {url} ({type(exc).__name__}). Check the network or the base_url setting",
                False, "connect", {"url": url})
    if isinstance(exc, (errors.InvalidURL, errors.MissingSchema, errors.InvalidSchema, errors.URLRequired)):
        return f"the address {url} is not a valid URL; check the base_url setting", False, "bad_url", {"url": url}
    if isinstance(exc, errors.TooManyRedirects):
        return f"the service at {url} redirected too many times", False, "connect", {"url": url}
    return f"the request to {url} failed ({type(exc).__name__}: {exc})", False, "connect", {"url": url}


def _retry_after_seconds(response: requests.Response, attempt: int, backoff_base_s: float = BACKOFF_BASE_S) -> float:
    header = response.headers.get("Retry-After")
    if header:
        try:
            return min(float(header), MAX_RETRY_AFTER_S)
        except ValueError:
            pass
    return backoff_base_s * (2**attempt)


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    context: str,
    timeout: tuple[float, float] = (5.0, 30.0),
    throttle: SharedThrottle | None = None,
    max_retries: int = MAX_RETRIES_DEFAULT,
    backoff_base_s: float = BACKOFF_BASE_S,
    sleep=time.sleep,
    on_attempt: Callable[[], None] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send a request with throttle, retries and typed errors. `context` names the source and table for messages.

    `backoff_base_s` is the first wait between retries (doubling each time); a source instance can set it, and
    tests set it small. `on_attempt` is called once per HTTP attempt (a retry is a request too).
    """
    for attempt in range(max_retries + 1):
        record = throttle.wait() if throttle is not None else None
        if on_attempt is not None:
            on_attempt()
        try:
            # The body is read here, inside the try, so a host that stalls or cuts the connection halfway through
            # the body is caught like one that never answers (requests reads it lazily otherwise).
            response = session.request(method, url, timeout=timeout, **kwargs)
            response.content  # noqa: B018 - read the whole body now
        except requests.exceptions.RequestException as exc:
            message, retry, code, params = describe_failure(exc, url, timeout)
            if retry and attempt < max_retries:
                sleep(backoff_base_s * (2**attempt))
                continue
            attempts = f" after {attempt + 1} attempts" if attempt else ""
            raise SourceUnavailable(f"{context}: {message}{attempts}. {RETRY_LATER}", code=code, context=context,
                                    **params) from None
        finally:
            if throttle is not None:
                throttle.completed(record)
        status = response.status_code
        if status == 429 or status >= 500:
            if attempt < max_retries:
                sleep(_retry_after_seconds(response, attempt, backoff_base_s))
                continue
            reason = "refused the request because of its rate limit (HTTP 429)" if status == 429 else (
                f"answered with a server error (HTTP {status})"
            )
            raise SourceUnavailable(f"{context}: the service {reason} after {max_retries + 1} attempts. {RETRY_LATER}",
                                    code="rate_limited" if status == 429 else "server_error", context=context,
                                    status=status, attempts=max_retries + 1)
        if status == 404:
            raise NotFound(f"{context}: not found at {url} (HTTP 404). The table or indicator may have moved.",
                           code="not_found", context=context, url=url)
        if status >= 400:
            error = BadQuery(
                f"{context}: the service rejected the request (HTTP {status}). "
                "The table id or variable codes may have changed; check the configuration.",
                code="rejected", context=context, status=status,
            )
            error.status = status  # an adapter may know better what a status means for its host (PxWeb's 403)
            raise error
        return response
    raise AssertionError("unreachable")  # the loop returns or raises


class SourceClient:
    """The HTTP side of one source instance: its session, timeouts, throttle and retry settings in one place.

    Adapters build one in their constructor (usually with `from_config`) and call `get`/`post`; each call goes
    through `request` and counts one request on the progress callback it is given. `throttle` may be replaced at
    run time (PxWeb sets it from the host's `?config`); `None` means unthrottled.
    """

    def __init__(
        self,
        user_agent: str,
        session: requests.Session | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        throttle: SharedThrottle | None = None,
        max_retries: int = MAX_RETRIES_DEFAULT,
        backoff_base_s: float = BACKOFF_BASE_S,
        time_budget_s: float = TIME_BUDGET_DEFAULT_S,
        clock=time.monotonic,
    ) -> None:
        self.user_agent = user_agent
        self._session = session
        self.timeout = timeout
        self.throttle = throttle
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        # A client lives for one refresh of one source. Once its host has failed all retries, the host is down for
        # the rest of the refresh, and no more than `time_budget_s` is spent on it in all: a hung host cannot make
        # every series wait out its own timeouts and retries.
        self.time_budget_s = time_budget_s
        self.down: str | None = None
        self.spent_s = 0.0
        self._clock = clock

    @classmethod
    def from_config(
        cls,
        config: SourceConfig,
        settings: Settings,
        session: requests.Session | None = None,
        *,
        base_url: str,
        max_calls_default: int,
        window_s_default: float,
    ) -> SourceClient:
        """A client from `[sources.NAME]`: `timeout_connect_s`/`timeout_read_s`, and the optional keys `max_retries`,
        `backoff_base_s`, `time_budget_s`, `max_calls` and `window_s` (the last two default to the adapter's polite
        limits, shared by every process that calls the host of `base_url`)."""
        extra = config.model_extra or {}
        return cls(
            settings.user_agent,
            session,
            timeout=(config.timeout_connect_s, config.timeout_read_s),
            max_retries=int(extra.get("max_retries", MAX_RETRIES_DEFAULT)),
            backoff_base_s=float(extra.get("backoff_base_s", BACKOFF_BASE_S)),
            time_budget_s=float(extra.get("time_budget_s", TIME_BUDGET_DEFAULT_S)),
            throttle=host_throttle(settings.refresh.rate_limit_path, base_url,
                                   int(extra.get("max_calls", max_calls_default)),
                                   float(extra.get("window_s", window_s_default))),
        )

    @property
    def session(self) -> requests.Session:
        """The session given at construction, or one made with `make_session` at the first request."""
        if self._session is None:
            self._session = make_session(self.user_agent)
        return self._session

    def send(
        self,
        method: str,
        url: str,
        *,
        context: str,
        progress: ProgressCallback | None = None,
        message: str = "",
        **kwargs: Any,
    ) -> requests.Response:
        """`request` with this client's settings (`kwargs` go to it, e.g. `params`, `json`). Each HTTP attempt is
        reported to `progress` as one request with `message`, whether it succeeded or not (a 404 and a retry are
        requests too)."""
        if self.down is not None:
            raise SourceUnavailable(f"{context}: not tried, because the host failed earlier in this refresh "
                                    f"({self.down}). {RETRY_LATER}", code="host_down", context=context)
        if self.spent_s >= self.time_budget_s:
            self.down = f"more than its time budget of {self.time_budget_s:g} s spent on it"
            raise SourceUnavailable(f"{context}: not tried: this refresh has already spent {self.spent_s:.0f} s on "
                                    f"the host, more than its time_budget_s of {self.time_budget_s:g} s. "
                                    f"{RETRY_LATER}", code="time_budget", context=context,
                                    seconds=f"{self.time_budget_s:g}")
        started = self._clock()
        try:
            return request(
                self.session,
                method,
                url,
                context=context,
                timeout=self.timeout,
                throttle=self.throttle,
                max_retries=self.max_retries,
                backoff_base_s=self.backoff_base_s,
                on_attempt=None if progress is None else partial(progress, requests=1, message=message),
                **kwargs,
            )
        except SourceUnavailable as exc:
            # It failed every retry: down for the rest of this refresh (the reason without the context prefix).
            self.down = str(exc).split(": ", 1)[-1].split(". ", 1)[0]
            raise
        finally:
            self.spent_s += self._clock() - started

    def get(self, url: str, *, context: str, progress: ProgressCallback | None = None, message: str = "",
            **kwargs: Any) -> requests.Response:
        return self.send("GET", url, context=context, progress=progress, message=message, **kwargs)

    def post(self, url: str, *, context: str, progress: ProgressCallback | None = None, message: str = "",
             **kwargs: Any) -> requests.Response:
        return self.send("POST", url, context=context, progress=progress, message=message, **kwargs)


def http_validator(response: requests.Response) -> str | None:
    """What tells a version of a file apart in an answer's headers: its ETag, else its Last-Modified; None if
    neither is sent (then only fetching it tells)."""
    etag = response.headers.get("ETag")
    if etag:
        return f"etag {etag}"
    modified = response.headers.get("Last-Modified")
    return f"last-modified {modified}" if modified else None


UTF8_BOM = b"\xef\xbb\xbf"
# Bytes -> "0" for an ASCII digit, " " otherwise: 19 digits in a row is the shortest integer orjson may turn into a
# float (it keeps integers as int only from -2**63 to 2**64 - 1; the stdlib keeps any size as int).
_DIGIT_MAP = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS = b"0" * 19


def decode_json(response: requests.Response, context: str) -> Any:
    """Parse a JSON body, stripping a byte-order mark some hosts send; SchemaChanged when it is not JSON.

    orjson parses the bytes (about 2x faster than the stdlib on a large json-stat2 answer, bench/bench_jsonstat.py)
    and gives what `json.loads` would: the same dicts, lists, str, int, float, None. Where the two could differ the
    stdlib decides, as before: a body orjson refuses (invalid UTF-8, which the stdlib path reads with U+FFFD; NaN,
    Infinity, a number beyond float range, a lone surrogate escape; or simply not JSON, when the error names its
    line), and a body with 19 or more digits in a row, which may hold an integer too big for orjson to keep exact.
    """
    body = response.content
    if _LONG_DIGITS not in body.translate(_DIGIT_MAP):
        try:
            return orjson.loads(memoryview(body)[len(UTF8_BOM):] if body.startswith(UTF8_BOM) else body)
        except orjson.JSONDecodeError:
            pass  # not strict JSON in UTF-8: the stdlib path below decides, with its own error message
    text = body.decode("utf-8-sig", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaChanged(
            f"{context}: the answer is not valid JSON ({exc.msg} at line {exc.lineno}). "
            "The service may be down for maintenance or have changed its format."
        ) from None


def decode_text(response: requests.Response) -> str:
    """Body as text, UTF-8 with an optional byte-order mark."""
    return response.content.decode("utf-8-sig", errors="replace")
