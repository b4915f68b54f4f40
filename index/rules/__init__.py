"""Rules that build data from the titles: holdings of virtual libraries (SWB's LFER).

- `lfer`: the LFER rule itself, pure: a MARC record in, a `Decision` out (eligible, why, URLs).
- `run`: evaluating the rules over the catalog (`unikat lfer`) and after a load.

The table of rule-built holdings, and how they read as `Holding`s, is the store's
(`index.store.rule_holdings`). The modules import nothing of the search side.
"""
