"""Client: one connection to sessiond carrying both services, with the token
filled in and transport errors turned into ConnectionFailed."""

import socket
import ssl
import threading

from thrift.protocol import TBinaryProtocol, TMultiplexedProtocol, TProtocol
from thrift.Thrift import TApplicationException, TException
from thrift.transport import TSocket, TSSLSocket, TTransport

from session_scheduler_api import Admin, Sessions, constants

from .errors import ConnectionFailed, ErrorCode, SchedulerError
from .settings import resolve_server, resolve_token

__all__ = ["Client", "connect"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
# A heartbeat may be held by the server for wait_ms; its reply is awaited
# that long plus this margin.
DEFAULT_LONG_POLL_MARGIN = 5.0


def connect(server=None, token=None, tls=False, ca=None, timeout=DEFAULT_TIMEOUT,
            connect_timeout=DEFAULT_CONNECT_TIMEOUT, certfile=None, keyfile=None,
            verify_hostname=True, long_poll_margin=DEFAULT_LONG_POLL_MARGIN):
    """Dials sessiond and returns an open Client.

    server: "HOST:PORT" (default $SESSIOND_SERVER, else 127.0.0.1:7420).
    token: default $SESSIOND_TOKEN, else ./data/admin.token if it exists.
    tls / ca: TLS, trusting the CA bundle `ca` (default: the system's store);
    a CA file turns TLS on. certfile/keyfile: a client certificate.
    timeout: seconds to wait for any reply; a heartbeat's reply is awaited
    for its wait_ms plus long_poll_margin seconds when that is longer.
    Raises ConnectionFailed when nothing answers, ValueError on a bad address.
    """
    host, port = resolve_server(server)
    client = Client(host, port, resolve_token(token), tls=tls or bool(ca), ca=ca, timeout=timeout,
                    connect_timeout=connect_timeout, certfile=certfile, keyfile=keyfile,
                    verify_hostname=verify_hostname, long_poll_margin=long_poll_margin)
    client.open()
    return client


class _Service:
    """One multiplexed service: its methods take the same arguments as the IDL
    without the leading token."""

    def __init__(self, client, name):
        self._client = client
        self._name = name

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        stub_class = Sessions.Client if self._name == constants.SESSIONS_SERVICE else Admin.Client
        if not callable(getattr(stub_class, method, None)) or method.startswith(("send_", "recv_")):
            raise AttributeError("%s has no call %r" % (self._name, method))

        def call(*args, **kwargs):
            return self._client._call(self._name, method, args, kwargs)

        call.__name__ = method
        return call


class Client:
    """A connection to sessiond. Calls are serialized on it, so a heartbeat
    that long-polls holds up other calls of the same Client: HeartbeatLoop
    dials a Client of its own (see clone()).

    client.sessions.<call>(...) and client.admin.<call>(...) take the IDL's
    arguments without the token. Errors: SchedulerError from the server
    (the connection stays usable), ConnectionFailed when the connection is
    down or breaks (it is closed; the next call dials again).
    """

    def __init__(self, host, port, token="", tls=False, ca=None, timeout=DEFAULT_TIMEOUT,
                 connect_timeout=DEFAULT_CONNECT_TIMEOUT, certfile=None, keyfile=None,
                 verify_hostname=True, long_poll_margin=DEFAULT_LONG_POLL_MARGIN):
        self.host = host
        self.port = port
        self.token = token or ""
        self.tls = tls
        self.ca = ca
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.certfile = certfile
        self.keyfile = keyfile
        self.verify_hostname = verify_hostname
        self.long_poll_margin = long_poll_margin
        self._lock = threading.RLock()
        self._socket = None
        self._transport = None
        self._stubs = {}
        self.sessions = _Service(self, constants.SESSIONS_SERVICE)
        self.admin = _Service(self, constants.ADMIN_SERVICE)

    @property
    def server(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (host, self.port)

    def clone(self):
        """A new, unopened Client with the same settings."""
        return Client(self.host, self.port, self.token, tls=self.tls, ca=self.ca, timeout=self.timeout,
                      connect_timeout=self.connect_timeout, certfile=self.certfile, keyfile=self.keyfile,
                      verify_hostname=self.verify_hostname, long_poll_margin=self.long_poll_margin)

    @property
    def connected(self):
        return self._transport is not None

    def open(self):
        """Dials now (calls also dial on demand). Raises ConnectionFailed."""
        with self._lock:
            if self._transport is None:
                self._open_locked()
        return self

    def close(self):
        """Idempotent. Safe from another thread: wakes a call blocked on a
        reply, which then raises ConnectionFailed."""
        sock = self._socket
        handle = getattr(sock, "handle", None) if sock is not None else None
        if handle is not None:
            try:
                # close() alone does not wake a thread blocked in recv().
                handle.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._lock:
            self._close_locked()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def register(self, consumer, **kwargs):
        """Registers a session; see session_scheduler.register."""
        from .session import register
        return register(self, consumer, **kwargs)

    # -- internals ---------------------------------------------------------

    def _make_socket(self):
        if not self.tls:
            return TSocket.TSocket(self.host, self.port)
        context = ssl.create_default_context(cafile=self.ca)
        context.check_hostname = bool(self.verify_hostname)
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile)
        # The context checks the name; thrift's own check would repeat it
        # (and ignore verify_hostname=False).
        return TSSLSocket.TSSLSocket(self.host, self.port, ssl_context=context, server_hostname=self.host,
                                     validate_callback=lambda cert, hostname: None)

    def _open_locked(self):
        try:
            sock = self._make_socket()
        except (OSError, ssl.SSLError) as e:
            raise ValueError("TLS setup: %s" % e) from e
        sock.setTimeout(self.connect_timeout * 1000 if self.connect_timeout else None)
        transport = TTransport.TFramedTransport(sock)
        try:
            transport.open()
        except (TException, OSError) as e:
            raise ConnectionFailed(self.server, "cannot connect: %s" % e) from None
        sock.setTimeout(self.timeout * 1000 if self.timeout else None)
        protocol = TBinaryProtocol.TBinaryProtocol(transport)
        self._stubs = {
            constants.SESSIONS_SERVICE: Sessions.Client(
                TMultiplexedProtocol.TMultiplexedProtocol(protocol, constants.SESSIONS_SERVICE)),
            constants.ADMIN_SERVICE: Admin.Client(
                TMultiplexedProtocol.TMultiplexedProtocol(protocol, constants.ADMIN_SERVICE)),
        }
        self._socket = sock
        self._transport = transport

    def _close_locked(self):
        transport, self._transport, self._socket, self._stubs = self._transport, None, None, {}
        if transport is not None:
            try:
                transport.close()
            except (TException, OSError):
                pass

    def _reply_timeout(self, method, args, kwargs):
        if not self.timeout:
            return None
        if method == "heartbeat":
            wait_ms = kwargs.get("wait_ms", args[2] if len(args) > 2 else 0) or 0
            return max(self.timeout, wait_ms / 1000.0 + self.long_poll_margin)
        return self.timeout

    def _call(self, service, method, args, kwargs):
        with self._lock:
            if self._transport is None:
                self._open_locked()
            stub = self._stubs[service]
            timeout = self._reply_timeout(method, args, kwargs)
            try:
                # Every call sets its own timeout, so a long poll's never lingers.
                self._socket.setTimeout(timeout * 1000 if timeout else None)
                return getattr(stub, method)(self.token, *args, **kwargs)
            except SchedulerError:
                raise
            except (TTransport.TTransportException, OSError) as e:
                # A reply may be half read: the stream cannot be trusted.
                self._close_locked()
                raise ConnectionFailed(self.server, "%s: %s" % (method, e or type(e).__name__)) from None
            except (TApplicationException, TProtocol.TProtocolException) as e:
                # The server could not run the call (an older server without
                # it, a handler bug) or sent bytes we cannot read.
                self._close_locked()
                raise SchedulerError(code=ErrorCode.INTERNAL,
                                     message="%s: %s answered: %s" % (method, self.server, e)) from None
