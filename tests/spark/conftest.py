"""pytest fixtures of the Spark end-to-end tests (the harness is harness.py)."""

from spark_harness import spark  # noqa: F401  (a fixture)
