"""The sink tests' shared fixtures."""

from tests.sinks._mongo import mongo  # noqa: F401 - a fixture, found by pytest through this import
