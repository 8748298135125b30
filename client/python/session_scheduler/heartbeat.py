"""HeartbeatLoop: a thread that long-polls a session's directives, renewing
its lease, and hands each new version to a callback."""

import logging
import threading

from .errors import ConnectionFailed, ErrorCode, SchedulerError

__all__ = ["HeartbeatLoop"]

log = logging.getLogger(__name__)

# Server answers worth retrying: it is recovering or shutting down.
_RETRYABLE = {ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL}


class HeartbeatLoop(threading.Thread):
    """Long-polls session.id on a Client of its own (so the session's other
    calls are not held up) and calls callback(directives) once per new
    version, on this thread.

    Connection errors and UNAVAILABLE answers are retried with exponential
    backoff (initial_backoff doubling up to max_backoff seconds), dialling
    again each time. Any other SchedulerError (NOT_FOUND: the lease lapsed or
    the session ended; UNAUTHENTICATED, ...) stops the loop and is kept in
    `.error`. An exception from the callback is logged and the loop goes on:
    a bug there must not cost the session its executors.

    on_error(exc), if given, is called for every error, retried or not.
    stop() ends the loop promptly, even in the middle of a long poll.
    """

    def __init__(self, session, callback, wait_ms=None, on_error=None, initial_backoff=0.2, max_backoff=10.0,
                 client=None):
        super().__init__(name="heartbeat-%s" % session.id, daemon=True)
        self.session = session
        self.callback = callback
        self.wait_ms = session.default_wait_ms() if wait_ms is None else wait_ms
        self.on_error = on_error
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.client = client if client is not None else session.client.clone()
        self.error = None
        self.heartbeats = 0
        # Its own, not the session's: the first poll then returns the current
        # view at once, so the callback always starts from the whole state.
        self.last_version = 0
        self._stop_event = threading.Event()

    @property
    def stopped(self):
        return self._stop_event.is_set()

    def stop(self, timeout=None):
        """Ends the loop and waits for the thread (up to timeout seconds).
        Idempotent; safe from the callback itself."""
        self._stop_event.set()
        self.client.close()  # wakes a long poll in progress
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self):
        backoff = self.initial_backoff
        try:
            while not self._stop_event.is_set():
                try:
                    directives = self.client.sessions.heartbeat(self.session.id, self.last_version, self.wait_ms)
                except (ConnectionFailed, SchedulerError) as e:
                    if self._stop_event.is_set():
                        return
                    self._report(e)
                    if isinstance(e, SchedulerError) and e.code not in _RETRYABLE:
                        self.error = e
                        return
                    self._stop_event.wait(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                    continue
                backoff = self.initial_backoff
                self.heartbeats += 1
                self.session._observe(directives)
                # A lower version is a restarted daemon's fresh view.
                if directives.version != self.last_version:
                    self.last_version = directives.version
                    self._deliver(directives)
        finally:
            self.client.close()

    def _deliver(self, directives):
        try:
            self.callback(directives)
        except Exception:  # noqa: BLE001 - the user's callback; see the class comment
            log.exception("heartbeat callback of session %s failed", self.session.id)

    def _report(self, error):
        log.debug("heartbeat of session %s: %s", self.session.id, error)
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:  # noqa: BLE001
                log.exception("heartbeat error handler of session %s failed", self.session.id)
