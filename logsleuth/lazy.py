"""Names of a package imported on first use (PEP 562), for the packages whose import must stay
light (`logsleuth` itself, `logsleuth.report`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_names(package: str, public: Mapping[str, str], namespace: dict[str, Any]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level `__getattr__` and `__dir__` of `package`: a name of `public` (name ->
    submodule) is imported from its submodule when first asked for, then kept in `namespace`."""
    def __getattr__(name: str) -> Any:
        if name in public:
            value = getattr(import_module(f".{public[name]}", package), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
