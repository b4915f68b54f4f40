"""unikat's catalog: reading deliveries, the catalog store, search keys and the search engine.

`index` never imports `zserver`, `twisted` or `lark`.
"""
