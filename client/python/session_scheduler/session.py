"""Session: one registered Spark application (or notebook) and its calls."""

from session_scheduler_api.ttypes import Demand, LaunchSpec, ResourceVector, SessionSpec, SlaClass

__all__ = ["Session", "register", "resources"]


def resources(cpu=0, memory_mib=0, gpu=0, **extras):
    """A ResourceVector from natural units: cpu and gpu in cores/devices (may
    be fractions), memory in MiB, extras in milli-units of their own unit."""
    return ResourceVector(cpu_millis=int(round(cpu * 1000)), memory_mib=int(memory_mib),
                          gpu_millis=int(round(gpu * 1000)), extras={k: int(v) for k, v in extras.items()})


def _sla(value):
    if isinstance(value, int):
        return value
    try:
        return SlaClass._NAMES_TO_VALUES[str(value).upper()]
    except KeyError:
        raise ValueError("sla %r: expected interactive, streaming or batch" % (value,)) from None


def _launch(value):
    if value is None or isinstance(value, LaunchSpec):
        return value or LaunchSpec()
    if isinstance(value, dict):
        return LaunchSpec(**value)
    raise TypeError("launch: a LaunchSpec or a dict of its fields")


def register(client, consumer, user="", application="", sla=SlaClass.BATCH, priority=0, slot_shape=None,
             min_slots=0, max_slots=0, initial_demand=0, launch=None, session_id=None, lease_ttl_ms=0):
    """Registers a session under the leaf `consumer` and returns it.

    sla: SlaClass value or "interactive" / "streaming" / "batch".
    slot_shape: one slot of its executors (see resources()); None: the
    server's slot. session_id: a stable id (e.g. the Spark application id)
    makes a retried register return the same session.
    """
    spec = SessionSpec(consumer=consumer, user=user, application=application, sla=_sla(sla), priority=priority,
                       slot_shape=slot_shape if slot_shape is not None else ResourceVector(),
                       min_slots=min_slots, max_slots=max_slots, initial_demand=initial_demand,
                       launch=_launch(launch), session_id=session_id, lease_ttl_ms=lease_ttl_ms)
    registration = client.sessions.register_session(spec)
    return Session(client, registration, spec)


class Session:
    """A registered session. Calls go through `client`; `directives` is the
    latest view seen by heartbeat() or a HeartbeatLoop."""

    def __init__(self, client, registration, spec=None):
        self.client = client
        self.registration = registration
        self.spec = spec
        self.directives = None
        self._loop = None

    @property
    def id(self):
        return self.registration.session_id

    @property
    def version(self):
        """The version of the latest directives seen; 0 before any."""
        return self.directives.version if self.directives is not None else 0

    def default_wait_ms(self):
        """The longest useful long poll: the server's cap, and well inside the
        lease so a slow reply cannot let it lapse."""
        wait = self.registration.max_wait_ms or 0
        ttl = self.registration.lease_ttl_ms or 0
        if ttl > 0:
            wait = min(wait, ttl // 2) if wait > 0 else ttl // 2
        return max(wait, 0)

    def update_demand(self, pending_tasks=0, running_tasks=0, slots=None, running_by_executor=None):
        """What the session could use now: `slots` when given, else one slot
        per pending or running task. `running_by_executor` (executor id ->
        running tasks) lets a lower demand give back idle slots first."""
        self.client.sessions.update_demand(self.id, Demand(pending_tasks=pending_tasks, running_tasks=running_tasks,
                                                           slots=slots, running_by_executor=running_by_executor))

    def heartbeat(self, known_version=None, wait_ms=0):
        """Renews the lease and returns the Directives, waiting up to wait_ms
        for a version above known_version (default: the latest seen)."""
        if known_version is None:
            known_version = self.version
        directives = self.client.sessions.heartbeat(self.id, known_version, wait_ms)
        self._observe(directives)
        return directives

    def acknowledge(self, executor_ids):
        self.client.sessions.acknowledge(self.id, list(executor_ids))

    def release(self, executor_id, slots=0):
        """Gives back `slots` of one executor (0 or less: all of it)."""
        self.client.sessions.release(self.id, executor_id, slots)

    def unregister(self):
        """Stops a running HeartbeatLoop, then ends the session."""
        self.stop_heartbeat()
        self.client.sessions.unregister_session(self.id)

    def start_heartbeat(self, callback, **kwargs):
        """Starts (and returns) a HeartbeatLoop calling callback(directives)."""
        from .heartbeat import HeartbeatLoop
        self.stop_heartbeat()
        self._loop = HeartbeatLoop(self, callback, **kwargs)
        self._loop.start()
        return self._loop

    def stop_heartbeat(self, timeout=None):
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.stop(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.unregister()

    def _observe(self, directives):
        # Replies can cross (a heartbeat of the loop and one of the caller):
        # keep the newest.
        if directives is not None and (self.directives is None or directives.version >= self.directives.version):
            self.directives = directives
