"""ISO 18626 (interlibrary loan messages, XML over HTTP) at POST /iso18626: `Iso18626Core`."""

from zserver.iso18626.core import ISO18626_PATH, NAMESPACE, Iso18626Answer, Iso18626Core

__all__ = ["ISO18626_PATH", "NAMESPACE", "Iso18626Answer", "Iso18626Core"]
