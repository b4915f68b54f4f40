"""Rules that build data from the titles: holdings of virtual libraries (SWB's LFER).

- `lfer`: the LFER rule itself, pure: a MARC record in, a `Decision` out (eligible, why, URLs).
- `holdings`: the table of rule-built holdings and how they read as `Holding`s.
- `run`: evaluating the rules over the catalog (`unikat lfer`) and after a load.

The modules import nothing of the search side; `holdings` is imported by the store itself, so
it must not import `index.store`.
"""
