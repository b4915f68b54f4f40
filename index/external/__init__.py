"""The external-data catalog: records harvested from other servers (`zserver.harvest`), stored
apart from the union catalog (`store`), searchable as their own database (`catalog`), and
copied into a library's records on request (`adopt`)."""

from index.external.catalog import EXTERNAL_ISN_BASE, ExternalCatalog, external_number, is_external
from index.external.store import ExternalHome, ExternalRecord, ExternalStore, HarvestState, Provenance

__all__ = ["EXTERNAL_ISN_BASE", "ExternalCatalog", "ExternalHome", "ExternalRecord", "ExternalStore", "HarvestState",
           "Provenance", "external_number", "is_external"]
