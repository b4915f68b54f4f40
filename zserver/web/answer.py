"""What the web side's non-HTML answers give the HTTP core: status, media type, body."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WebAnswer:
    status: int
    content_type: str      # the Content-Type header value, charset included where it applies
    body: bytes
