"""OAI-PMH 2.0 provider at /oai: harvesting the union catalog with sets per library and deletions.

    provider.py   the verbs: arguments in, the OAI-PMH response document out (sans-I/O)
    formats.py    metadata formats (marc21, oai_dc), rendered by the SRU record schemas
    tokens.py     resumption tokens that carry their position (no server memory)

The titles in change order come from `index.store.changes`.
"""

from zserver.oai.provider import OaiAnswer, OaiProvider

__all__ = ["OaiAnswer", "OaiProvider"]
