"""How domain code names a page without importing the web layer.

The offline manifest lists the pages a device should keep; it needs their paths, which only the
routes know. The web handler passes `url_for` in (a route's name and parameters → its path).
A push notice names the page it opens as a `Page` (route name, parameters, query), stored with
the notice and made a path by the push worker, which the process gives a `url_for` built on
the app's routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class UrlFor(Protocol):
    def __call__(self, name: str, /, **params: Any) -> str: ...


@dataclass(frozen=True)
class Page:
    """A page by its route's name: `Page("document", {"document_id": 7})`."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    query: str = ""  # e.g. "inbox=viec-cua-toi", without the "?"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params), "query": self.query}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Page:
        return cls(str(data["name"]), dict(data.get("params") or {}), str(data.get("query", "")))

    def path(self, url_for: UrlFor) -> str:
        path = url_for(self.name, **self.params)
        return f"{path}?{self.query}" if self.query else path
