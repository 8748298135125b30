"""Test helpers: a threaded in-process Thrift server with sessiond's wire
format (framed, binary, multiplexed), so the client runs end to end without
the daemon."""

import os
import socket
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# client/python itself, for running pytest from anywhere.
sys.path.insert(0, os.path.dirname(HERE))

from thrift.protocol import TBinaryProtocol  # noqa: E402
from thrift.TMultiplexedProcessor import TMultiplexedProcessor  # noqa: E402
from thrift.transport import TSocket, TTransport  # noqa: E402

from session_scheduler_api import Admin, Sessions  # noqa: E402


class FakeServer:
    """Serves `handler` (implementing both services) on a free loopback port,
    one thread per connection, until stop(), which also cuts every open
    connection as a dying daemon would. (thrift's own TThreadedServer cannot
    be stopped.)"""

    def __init__(self, handler, port=0):
        self.handler = handler
        self.processor = TMultiplexedProcessor()
        self.processor.registerProcessor("Sessions", Sessions.Processor(handler))
        self.processor.registerProcessor("Admin", Admin.Processor(handler))
        self.socket = TSocket.TServerSocket(host="127.0.0.1", port=port)
        self.socket.listen()
        self.port = self.socket.handle.getsockname()[1]
        self.stopped = threading.Event()
        self.connections = []
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _accept_loop(self):
        while not self.stopped.is_set():
            try:
                client = self.socket.accept()
            except Exception:  # noqa: BLE001 - the listening socket closed at stop()
                return
            if client is None:
                continue
            self.connections.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        transport = TTransport.TFramedTransport(client)
        protocol = TBinaryProtocol.TBinaryProtocol(transport)
        try:
            while not self.stopped.is_set():
                self.processor.process(protocol, protocol)
        except Exception:  # noqa: BLE001 - the client hung up (or stop() cut it)
            pass
        finally:
            transport.close()

    def stop(self):
        self.stopped.set()
        handle = self.socket.handle
        if handle is not None:
            try:
                handle.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.socket.close()
        for c in self.connections:
            if c.handle is not None:
                try:
                    c.handle.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.thread.join(2)


@pytest.fixture
def serve():
    servers = []

    def start(handler):
        server = FakeServer(handler)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()
