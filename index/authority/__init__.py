"""The authority file: established headings and their variant forms (MELVYL's heading file).

`headings` says which fields are headings and how they are compared; `link` links the headings
of titles to authority records (adding the variant forms to the display record, so searches on
any form find the title) and keeps those links current when the authority file changes.
Authority records are loaded like bibliographic ones (`unikat load --authority`), stored as
titles of bibtype `z` and searchable in their own database, `authorities`.
"""

from index.authority.headings import AuthorityForm, authority_forms, heading_of
from index.authority.link import SEE_FROM_TAG, authority_changed, authority_removed, link_display

__all__ = ["SEE_FROM_TAG", "AuthorityForm", "authority_changed", "authority_forms", "authority_removed",
           "heading_of", "link_display"]
