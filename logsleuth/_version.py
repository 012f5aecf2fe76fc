"""The version, in a module of its own: reports and the cache key read it without importing the
package's machinery (pyproject.toml reads it too)."""

__version__ = "0.1.0"
