"""Where to connect and with which token, resolved as sessionctl does."""

import os

DEFAULT_PORT = 7420
DEFAULT_SERVER = "127.0.0.1:%d" % DEFAULT_PORT
SERVER_ENV = "SESSIOND_SERVER"
TOKEN_ENV = "SESSIOND_TOKEN"
# Where the daemon's embedded default configuration writes its admin token,
# relative to the directory the program runs in.
DEFAULT_TOKEN_FILE = os.path.join("data", "admin.token")


def parse_server(text):
    """'host:port', 'host' or '[::1]:port' -> (host, port). ValueError if malformed."""
    if not isinstance(text, str) or not text:
        raise ValueError("server address is empty (expected HOST:PORT)")
    port_text = None
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError("server %r: missing ']'" % text)
        host, rest = text[1:close], text[close + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError("server %r: expected ':PORT' after ']'" % text)
            port_text = rest[1:]
    else:
        if text.count(":") > 1:
            raise ValueError("server %r: write an IPv6 address as [ADDR]:PORT" % text)
        host, _, port_text = text.partition(":")
        if ":" not in text:
            port_text = None
    if not host:
        raise ValueError("server %r: empty host (expected HOST:PORT)" % text)
    if port_text is None:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError("server %r: port must be a number in 1..65535" % text)
    return host, int(port_text)


def resolve_server(server=None, env=None):
    """The argument, else $SESSIOND_SERVER, else 127.0.0.1:7420; as (host, port)."""
    env = os.environ if env is None else env
    if server:
        return parse_server(server)
    if env.get(SERVER_ENV):
        return parse_server(env[SERVER_ENV])
    return parse_server(DEFAULT_SERVER)


def read_token_file(path):
    """The file's first line, stripped. ValueError when unreadable or empty."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
    except OSError as e:
        raise ValueError("cannot read token file %s: %s" % (path, e.strerror)) from e
    if not token:
        raise ValueError("token file %s is empty" % path)
    return token


def resolve_token(token=None, env=None, default_file=DEFAULT_TOKEN_FILE):
    """The argument, else $SESSIOND_TOKEN, else the daemon's default admin
    token file if it exists, else "" (the server then answers UNAUTHENTICATED)."""
    env = os.environ if env is None else env
    if token:
        return token
    if env.get(TOKEN_ENV, "").strip():
        return env[TOKEN_ENV].strip()
    if default_file and os.path.exists(default_file):
        return read_token_file(default_file)
    return ""
