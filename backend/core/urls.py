"""How domain code names a page without importing the web layer.

The offline manifest lists the pages a device should keep; it needs their paths, which only the
routes know. The web handler passes `url_for` in (a route's name and parameters → its path).
"""

from __future__ import annotations

from typing import Any, Protocol


class UrlFor(Protocol):
    def __call__(self, name: str, /, **params: Any) -> str: ...
