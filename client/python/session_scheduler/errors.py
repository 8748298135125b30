"""The errors the client raises: the server's SchedulerError, or ConnectionFailed."""

from session_scheduler_api.ttypes import ErrorCode, SchedulerError

__all__ = ["ConnectionFailed", "ErrorCode", "SchedulerError"]


class ConnectionFailed(Exception):
    """sessiond could not be reached, or the connection broke mid-call.

    Nothing is known about whether the call took effect. The client closes
    the connection and dials again on the next call.
    """

    def __init__(self, server, detail):
        super().__init__("sessiond at %s: %s" % (server, detail))
        self.server = server
        self.detail = detail
