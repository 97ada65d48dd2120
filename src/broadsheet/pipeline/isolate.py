"""Run untrusted-input parsing in worker processes with a time limit and resource limits.

feedparser's author regex backtracks for tens of seconds on crafted feeds and trafilatura's time
grows quadratically on some markup (KNOWN-FAULTS). A thread cannot be stopped, so the parsers run
in a small pool of worker processes instead:

- a wall-clock timeout per call: a worker that overruns is killed (SIGKILL) and replaced;
- in the worker, ``RLIMIT_AS`` (address space; an allocation over it raises ``MemoryError``
  there, and the worker is recycled) and ``RLIMIT_CPU`` (re-armed before every call to the CPU
  time used so far plus the budget; the kernel kills a worker that spins past it) and no core
  dumps;
- workers are forked from a "forkserver" that has the parsers imported once, so a replacement
  costs a fork, not a second of imports; each worker is recycled after ``max_tasks`` calls;
- thread-safe: any number of threads share one pool, each call holding one worker.

Calls take a picklable zero-argument callable, usually ``functools.partial`` over a module-level
function: ``isolation.run(partial(parse_feed, content, url=url), error=FeedError)``. Its result
comes back by pickle; a ``BroadsheetError`` it raises is raised again in the caller with its
class, message and attributes; any other exception becomes ``InternalError``. A timeout, the
memory limit or a dead worker raise ``error`` (the caller's stage error class) with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import resource
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import Any, Self, TypeVar

from broadsheet.errors import BroadsheetError, InternalError

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PRELOAD = ("broadsheet.pipeline.feeds", "broadsheet.pipeline.extract")
DEFAULT_TIMEOUT = 10.0
DEFAULT_MEMORY_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_TASKS = 500

_OK, _ERROR, _FOREIGN, _MEMORY = "ok", "error", "foreign", "memory"


@dataclass(frozen=True, slots=True)
class _Limits:
    memory_bytes: int | None
    cpu_seconds: float | None


class Isolation:
    """A pool of ``workers`` processes running pure functions under limits.

    ``timeout`` is the default wall-clock limit of one call (the time waiting for a free worker
    is not counted). ``cpu_seconds`` (default: ``timeout`` + 1) is the CPU-time budget of one
    call, enforced by the kernel as a backstop. ``memory_bytes`` caps each worker's address
    space. ``context`` is "forkserver" (default, with ``preload`` imported once in the server)
    or "spawn".
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cpu_seconds: float | None = None,
        memory_bytes: int | None = DEFAULT_MEMORY_BYTES,
        max_tasks: int = DEFAULT_MAX_TASKS,
        context: str = "forkserver",
        preload: Iterable[str] = DEFAULT_PRELOAD,
    ) -> None:
        self.workers = workers or max(1, os.cpu_count() or 1)
        if timeout <= 0 or max_tasks < 1:
            raise ValueError("timeout must be positive and max_tasks at least 1")
        self.timeout = timeout
        self.max_tasks = max_tasks
        self._limits = _Limits(
            memory_bytes=memory_bytes,
            cpu_seconds=cpu_seconds if cpu_seconds is not None else timeout + 1.0,
        )
        self._ctx: BaseContext = multiprocessing.get_context(context)
        if context == "forkserver":
            self._ctx.set_forkserver_preload(list(preload))
        # an idle slot holds a running worker, or None where one is yet to be started
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(self.workers):
            self._idle.put(None)
        self._lock = threading.Lock()
        self._live: set[_Worker] = set()
        self._closed = False
        self.restarts = 0  # workers killed or lost (timeouts, memory, crashes)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start every worker now rather than on first use (the first start also starts the
        fork server, which imports the parsers: about a second)."""
        slots = [self._idle.get() for _ in range(self.workers)]
        try:
            slots = [slot or self._spawn() for slot in slots]
        finally:
            for slot in slots:
                self._idle.put(slot)

    def close(self) -> None:
        """Stop every worker; calls in flight end with an error. Idempotent."""
        with self._lock:
            self._closed = True
            live = list(self._live)
        for worker in live:
            worker.kill()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- calls -------------------------------------------------------------------------------

    def run(
        self,
        fn: Callable[[], T],
        *,
        error: type[BroadsheetError] = InternalError,
        timeout: float | None = None,
        what: str = "",
    ) -> T:
        """``fn()`` in a worker, within ``timeout`` seconds (default: the pool's).

        ``fn`` and its result must pickle. Raises what ``fn`` raises (a ``BroadsheetError``;
        anything else as ``InternalError``), or ``error`` when the call is cut off.
        """
        limit = self.timeout if timeout is None else timeout
        label = what or getattr(getattr(fn, "func", fn), "__name__", "call")
        worker = self._acquire()
        keep = False
        try:
            try:
                worker.conn.send(fn)
                ready = worker.conn.poll(limit)
                reply = worker.conn.recv() if ready else None
            except (OSError, EOFError):
                raise error(f"{label}: worker process died ({worker.exitcode()})") from None
            if reply is None:
                raise error(f"{label}: timed out after {limit:g} s (worker killed)")
            status, payload = reply
            keep = status != _MEMORY
            if status == _OK:
                return payload  # type: ignore[no-any-return]
            if status == _MEMORY:
                cap = self._limits.memory_bytes or 0
                raise error(f"{label}: over the memory limit of {cap // 2**20} MiB")
            if status == _ERROR:
                raise _rebuild(payload)
            raise InternalError(str(payload))
        finally:
            self._release(worker, keep=keep)

    def _acquire(self) -> _Worker:
        slot = self._idle.get()
        try:
            if self._closed:
                raise InternalError("isolation pool is closed")
            worker = slot or self._spawn()
        except BaseException:
            self._idle.put(slot)
            raise
        worker.calls += 1
        return worker

    def _release(self, worker: _Worker, *, keep: bool) -> None:
        if keep and not self._closed and worker.calls < self.max_tasks and worker.alive():
            self._idle.put(worker)
            return
        worker.kill()
        with self._lock:
            self._live.discard(worker)
            self.restarts += not keep
        self._idle.put(None)  # the replacement starts when next needed

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main,
            args=(child, self._limits),
            name="broadsheet-isolate",
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            if self._closed:
                worker.kill()
                raise InternalError("isolation pool is closed")
            self._live.add(worker)
        return worker


class _Worker:
    def __init__(self, process: Any, conn: multiprocessing.connection.Connection) -> None:
        self.process = process
        self.conn = conn
        self.calls = 0

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def exitcode(self) -> str:
        self.process.join(0.5)
        code = self.process.exitcode
        if code is None:
            return "still running"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if self.process.is_alive():
                self.process.kill()
            self.process.join(2)
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(ValueError, AttributeError):
            self.process.close()


# -- errors across the process boundary ---------------------------------------------------------


def _flatten(exc: BroadsheetError) -> tuple[str, str, tuple[Any, ...], dict[str, Any]]:
    cls = type(exc)
    return cls.__module__, cls.__qualname__, exc.args, dict(vars(exc))


def _rebuild(payload: tuple[str, str, tuple[Any, ...], dict[str, Any]]) -> BroadsheetError:
    """The worker's error, rebuilt without calling its ``__init__`` (whose signature may need
    keyword arguments that ``args`` does not hold, as ``HTTPStatusError`` does)."""
    module, qualname, args, state = payload
    import importlib

    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and issubclass(cls, BroadsheetError)):
        return InternalError(f"{module}.{qualname}: {args}")
    exc: BroadsheetError = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


# -- the worker ---------------------------------------------------------------------------------


def _set_limits(limits: _Limits) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.memory_bytes is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = (
            limits.memory_bytes
            if hard == resource.RLIM_INFINITY
            else min(hard, limits.memory_bytes)
        )
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _arm_cpu(limits: _Limits) -> None:
    """RLIMIT_CPU counts the process's whole life: set it to what is used plus one budget."""
    if limits.cpu_seconds is None:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + limits.cpu_seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _worker_main(conn: multiprocessing.connection.Connection, limits: _Limits) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _set_limits(limits)
    while True:
        try:
            fn = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        _arm_cpu(limits)
        reply: tuple[str, Any]
        try:
            reply = (_OK, fn())
        except MemoryError:
            reply = (_MEMORY, None)
        except BroadsheetError as exc:
            reply = (_ERROR, _flatten(exc))
        except Exception as exc:  # a bug in a stage: reported, the worker lives on
            reply = (_FOREIGN, f"{type(exc).__name__}: {exc}")
        del fn
        try:
            conn.send(reply)
        except MemoryError:
            conn.send((_MEMORY, None))
        except Exception as exc:  # an unpicklable result
            conn.send((_FOREIGN, f"result cannot be sent back: {type(exc).__name__}: {exc}"))
        if reply[0] == _MEMORY:
            return  # a MemoryError may leave the interpreter short: start afresh
