"""E-journal lists: the catalog's electronic serials by subject group and by library, as HTML
pages, Dublin Core XML (DCMI terms) and CSV, with the link-check state beside each URL.
`select` finds the titles, `pages` writes HTML and CSV, `dcterms` the XML, `command` all."""

from index.ejournals.command import ejournals, write_lists
from index.ejournals.select import Access, EJournal, SubjectGroup, electronic_serials

__all__ = ["Access", "EJournal", "SubjectGroup", "ejournals", "electronic_serials", "write_lists"]
