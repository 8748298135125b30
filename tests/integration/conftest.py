"""pytest fixtures of the integration tests (the harness is harness.py)."""

from harness import make_daemon  # noqa: F401  (a fixture)
