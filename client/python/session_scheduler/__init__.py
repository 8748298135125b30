"""Python client of sessiond, the Session Scheduler daemon.

    import session_scheduler as ss
    client = ss.connect("127.0.0.1:7420", token="...")
    print(client.admin.status().backend)
    with client.register("/bank/risk/alice", sla="interactive",
                         slot_shape=ss.resources(cpu=1, memory_mib=4096)) as session:
        session.update_demand(pending_tasks=8)
        session.start_heartbeat(lambda d: print(d.version, d.granted_slots))
        ...

The generated Thrift package session_scheduler_api (build/python) must be
importable; its types are re-exported here as `api`.
"""

import session_scheduler_api.ttypes as api

from .client import Client, connect
from .errors import ConnectionFailed, ErrorCode, SchedulerError
from .heartbeat import HeartbeatLoop
from .session import Session, register, resources
from .settings import parse_server, resolve_server, resolve_token

__all__ = [
    "Client",
    "ConnectionFailed",
    "ErrorCode",
    "HeartbeatLoop",
    "SchedulerError",
    "Session",
    "api",
    "connect",
    "parse_server",
    "register",
    "resolve_server",
    "resolve_token",
    "resources",
]
