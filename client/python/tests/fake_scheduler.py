"""A stand-in for sessiond's handlers: both services, a version that tests
bump, and levers to make calls fail or stall."""

import threading
import time

from session_scheduler_api.ttypes import (ClusterStatus, ConsumerUsage, Directives, ErrorCode, Registration,
                                          SchedulerError)

GOOD_TOKEN = "good"


class FakeScheduler:
    def __init__(self):
        self.cond = threading.Condition()
        self.version = 1
        self.calls = []
        self.demand = None
        self.acknowledged = None
        self.released = None
        self.unregistered = []
        self.sessions = set()
        # Levers: heartbeats answered with these errors first, or held this
        # many seconds before answering.
        self.heartbeat_errors = []
        self.heartbeat_stalls = []
        self.heartbeat_count = 0

    def bump(self):
        with self.cond:
            self.version += 1
            self.cond.notify_all()

    def _check(self, method, token):
        self.calls.append((method, token))
        if token != GOOD_TOKEN:
            raise SchedulerError(code=ErrorCode.UNAUTHENTICATED, message="unknown token")

    def _session(self, session_id):
        if session_id not in self.sessions:
            raise SchedulerError(code=ErrorCode.NOT_FOUND, message="no session %s" % session_id)

    # -- Sessions --
    def register_session(self, token, spec):
        self._check("register_session", token)
        if not spec.consumer:
            raise SchedulerError(code=ErrorCode.INVALID_ARGUMENT, message="consumer: empty")
        sid = spec.session_id or "s-%d" % (len(self.sessions) + 1)
        self.sessions.add(sid)
        self.last_spec = spec
        return Registration(session_id=sid, lease_ttl_ms=4000, heartbeat_interval_ms=1000, max_wait_ms=10000)

    def update_demand(self, token, session_id, demand):
        self._check("update_demand", token)
        self._session(session_id)
        self.demand = demand

    def heartbeat(self, token, session_id, known_version, wait_ms):
        self._check("heartbeat", token)
        self._session(session_id)
        self.heartbeat_count += 1
        if self.heartbeat_errors:
            raise self.heartbeat_errors.pop(0)
        if self.heartbeat_stalls:
            time.sleep(self.heartbeat_stalls.pop(0))
        deadline = time.monotonic() + wait_ms / 1000.0
        with self.cond:
            while self.version <= known_version:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return Directives(version=self.version, granted_slots=self.version, executors=[], revocations=[])

    def acknowledge(self, token, session_id, executor_ids):
        self._check("acknowledge", token)
        self._session(session_id)
        self.acknowledged = executor_ids

    def release(self, token, session_id, executor_id, slots):
        self._check("release", token)
        self._session(session_id)
        self.released = (executor_id, slots)

    def unregister_session(self, token, session_id):
        self._check("unregister_session", token)
        self._session(session_id)
        self.sessions.discard(session_id)
        self.unregistered.append(session_id)

    # -- Admin --
    def status(self, token):
        self._check("status", token)
        return ClusterStatus(version="fake", backend="local", ready=True, principal="admin", hosts=[])

    def get_tree(self, token):
        self._check("get_tree", token)
        raise RuntimeError("handler bug")

    def set_tree(self, token, yaml, dry_run):
        self._check("set_tree", token)
        raise SchedulerError(code=ErrorCode.PERMISSION_DENIED, message="admin only")

    def list_sessions(self, token, consumer_prefix):
        self._check("list_sessions", token)
        return []

    def drain_host(self, token, host, drain):
        self._check("drain_host", token)
        raise SchedulerError(code=ErrorCode.NOT_FOUND, message="no host %s" % host)

    def usage(self, token, consumer_prefix):
        self._check("usage", token)
        if consumer_prefix == "slow":
            time.sleep(1.0)
        return [ConsumerUsage(path=consumer_prefix)]
