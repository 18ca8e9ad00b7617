"""Progress of a long run (`rulegen check`, `rulegen test`), on stderr.

On an interactive terminal: the one-line `proving: 3/14 test files` counter. Anywhere else (a
pipe, a CI log): plain lines, one per service as its result arrives (`checkout: 41 cases ok`),
and a heartbeat (`rulegen: 12/14 services proved, 380 cases, 4m10s`, or the step running,
`rulegen: promtool check rules on 14 rule files, 0m40s`) whenever nothing was printed for
`interval` seconds, so a CI system that kills a job after minutes of silence sees it working.
Lines carry no color and no carriage returns.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType

from rulegen.prove import ProveProgress, ServiceResult

INTERVAL_ENV = "RULEGEN_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 30.0


def interval_from_env(env: Mapping[str, str]) -> float:
    """Seconds between heartbeats from RULEGEN_PROGRESS_INTERVAL (default 30; 0: none).
    ValueError for anything but a number >= 0."""
    raw = env.get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{INTERVAL_ENV}={raw!r}: expected a number of seconds >= 0 "
                         "(0 turns the heartbeat off)")
    return value


def elapsed(seconds: float) -> str:
    """'4m10s', '0m07s', '1h02m03s'."""
    s = int(seconds)
    h, m, s = s // 3600, s // 60 % 60, s % 60
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


SHOWN_MEMBERS = 5  # services named on a class's line; tests/classes.yml names them all


def service_line(s: ServiceResult) -> str:
    """`checkout: 41 cases ok`, `checkout: 41 cases ok (cached)` (a passing result from the
    proof cache), `checkout: 41 cases FAILED (2 failing)`, ...; for a proof class of several
    services, `ad: 44 cases ok, for its class of 2: jvm/ad, jvm/fraud-detection`."""
    if s.test_file is None and s.ok:
        return f"{s.service}: no generated tests (output.tests is false)"
    if s.test_file is None:
        return f"{s.service}: FAILED (no generated test file)"
    if s.ok:
        return f"{s.service}: {s.cases} cases ok{' (cached)' if s.cached else ''}{_class(s)}"
    why = [f"{s.failed_cases} failing"] if s.failed_cases else []
    if s.unattributed:
        why.append(f"promtool failed the file as a whole, {s.not_run} not proven"
                   if s.not_run else "promtool failed the file as a whole")
    return f"{s.service}: {s.cases} cases FAILED ({', '.join(why)}){_class(s)}"


def _class(s: ServiceResult) -> str:
    if len(s.members) < 2:
        return ""
    names = ", ".join(s.members[:SHOWN_MEMBERS])
    more = len(s.members) - SHOWN_MEMBERS
    return f", for its class of {len(s.members)}: {names}" + (
        f" and {more} more (tests/classes.yml)" if more > 0 else "")


class TerminalProgress(ProveProgress):
    """The interactive terminal's counter: `show(done, total)` after each test file."""

    def __init__(self, show: Callable[[int, int], None]) -> None:
        self._show = show
        self._done = 0
        self._total = 0

    def tests_started(self, services: int, test_files: int) -> None:
        self._done, self._total = 0, test_files

    def service_done(self, result: ServiceResult) -> None:
        if result.test_file is not None and self._total:
            self._done += 1
            self._show(self._done, self._total)


class LineProgress(ProveProgress):
    """Plain progress lines for logs, with a heartbeat thread. Use as a context manager."""

    def __init__(self, write: Callable[[str], None], interval: float = DEFAULT_INTERVAL, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = self._last = clock()
        self._stage = "starting"
        self._total: int | None = None
        self._done = 0
        self._cases = 0
        self._failed = 0

    # --- what is said -----------------------------------------------------------------------

    def stage(self, text: str) -> None:
        """Named by the next heartbeat; no line of its own (a run that stops on an error says
        only why)."""
        with self._lock:
            self._stage = text

    def tests_started(self, services: int, test_files: int) -> None:
        with self._lock:
            self._total, self._done, self._cases, self._failed = services, 0, 0, 0

    def service_done(self, result: ServiceResult) -> None:
        with self._lock:
            self._done += result.covers
            self._cases += result.cases
            self._failed += result.failed_cases
            self._emit(service_line(result))

    def heartbeat(self) -> str:
        """The line the heartbeat prints now."""
        took = elapsed(self._clock() - self._start)
        if self._total is None:
            return f"rulegen: {self._stage}, {took}"
        failed = f" ({self._failed} failed)" if self._failed else ""
        return (f"rulegen: {self._done}/{self._total} services proved, {self._cases} cases"
                f"{failed}, {took}")

    def _emit(self, line: str) -> None:  # with the lock held
        self._last = self._clock()
        # stderr closed or a broken pipe: progress is optional
        with contextlib.suppress(OSError, ValueError):
            self._write(line)

    # --- the heartbeat ----------------------------------------------------------------------

    def _beat(self) -> None:
        while True:
            with self._lock:
                due = self._last + self._interval
            if self._stop.wait(max(0.0, due - self._clock())):
                return
            with self._lock:
                if self._clock() >= self._last + self._interval:
                    self._emit(self.heartbeat())

    def __enter__(self) -> LineProgress:
        if self._interval > 0:
            self._thread = threading.Thread(target=self._beat, name="rulegen-progress",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
