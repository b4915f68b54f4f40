"""Link checking: the catalog's URLs (856 of titles, URLs of holdings) checked over HTTP, the
results kept with their history in the store, and reports per library of broken and moved
links. `collect` finds the URLs, `check` asks the hosts (aiohttp), `index.store.links` keeps
the answers (`LinkResults`, `LinkStatus`; not re-exported here, since it imports `check`),
`report` writes HTML and CSV, `run` ties them together for `unikat linkcheck`."""

from index.links.check import CheckSettings, Hop, LinkCheck, LinkState, check_urls, host_key
from index.links.collect import NO_LIBRARY, LinkUse, link_uses
from index.links.run import LinkcheckSummary, run_linkcheck

__all__ = ["NO_LIBRARY", "CheckSettings", "Hop", "LinkCheck", "LinkState", "LinkUse",
           "LinkcheckSummary", "check_urls", "host_key", "link_uses", "run_linkcheck"]
