"""Server address parsing and token lookup, as sessionctl does them."""

import pytest

from session_scheduler.settings import parse_server, read_token_file, resolve_server, resolve_token


def test_parse_server_forms():
    assert parse_server("example.org:9000") == ("example.org", 9000)
    assert parse_server("10.0.0.1") == ("10.0.0.1", 7420)
    assert parse_server("[::1]:7421") == ("::1", 7421)
    assert parse_server("[::1]") == ("::1", 7420)


@pytest.mark.parametrize("bad", ["", ":7420", "host:", "host:0", "host:65536", "host:12x", "::1", "[::1", "[::1]x"])
def test_parse_server_rejects(bad):
    with pytest.raises(ValueError):
        parse_server(bad)


def test_resolve_server_argument_then_env_then_default():
    env = {"SESSIOND_SERVER": "b:2"}
    assert resolve_server("a:1", env=env) == ("a", 1)
    assert resolve_server(None, env=env) == ("b", 2)
    assert resolve_server(None, env={}) == ("127.0.0.1", 7420)


def test_token_argument_then_env_then_default_file(tmp_path):
    default = tmp_path / "admin.token"
    default.write_text("from-file\nsecond line\n")
    env = {"SESSIOND_TOKEN": " from-env \n"}
    assert resolve_token("from-arg", env=env, default_file=str(default)) == "from-arg"
    assert resolve_token(None, env=env, default_file=str(default)) == "from-env"
    assert resolve_token(None, env={"SESSIOND_TOKEN": "  "}, default_file=str(default)) == "from-file"
    assert resolve_token(None, env={}, default_file=str(tmp_path / "missing")) == ""


def test_token_file_errors(tmp_path):
    empty = tmp_path / "empty.token"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="empty"):
        read_token_file(str(empty))
    with pytest.raises(ValueError, match="cannot read"):
        read_token_file(str(tmp_path / "missing"))
