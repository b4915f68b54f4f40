"""Interlibrary loan (GBV's online Fernleihe) over the union catalog: accounts, orders,
routing to holding libraries, answers, deadlines and status. Sans protocol: Z39.50 ItemOrder,
ISO 18626, the web page and `unikat ill` call `IllService`."""

from index.ill.model import (
    Account,
    Article,
    Attempt,
    Event,
    IllError,
    IllRefused,
    Kind,
    Order,
    OrderRequest,
    PlacedOrder,
    Refusal,
    Status,
)
from index.ill.routing import Holder, Profile, eligible, rank
from index.ill.service import IllService, iso_time, profiles_from_config

__all__ = ["Account", "Article", "Attempt", "Event", "Holder", "IllError", "IllRefused", "IllService", "Kind",
           "Order", "OrderRequest", "PlacedOrder", "Profile", "Refusal", "Status", "eligible", "iso_time",
           "profiles_from_config", "rank"]
