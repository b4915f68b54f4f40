"""A unikat home directory: `unikat.toml` plus everything the catalog writes.

    unikat.toml        configuration (libraries, sources, users, server settings; `index.config`)
    catalog.sqlite     the catalog store
    searchkeys/        the search-key files (TI.keys, PA.keys, ..., IC.tsv)
    whoosh/, postings/ the index of the configured engine, built from the search-key files
    rejects/           one reject file per load that rejected records
    logs/              server logs
"""

from __future__ import annotations

from pathlib import Path

from index.config import DEFAULT_CONFIG, Config, ConfigError, parse_config

__all__ = ["Home"]


class Home:
    """Paths of one catalog home and its configuration."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def config_path(self) -> Path:
        return self.root / "unikat.toml"

    @property
    def store_path(self) -> Path:
        return self.root / "catalog.sqlite"

    @property
    def searchkeys_dir(self) -> Path:
        return self.root / "searchkeys"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    def has_store(self) -> bool:
        """Whether there is a catalog store to read: catalog.sqlite, or one in PostgreSQL
        (`[store] backend`, made when the home's first command opens it)."""
        return self.config().store.backend != "sqlite" or self.store_path.exists()

    def exists(self) -> bool:
        return self.config_path.exists()

    def init(self, config_text: str = DEFAULT_CONFIG) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.config_path.exists():
            self.config_path.write_text(config_text, encoding="utf-8")

    def config(self) -> Config:
        """The parsed unikat.toml; raises ConfigError, naming the file, when it is missing or wrong."""
        if not self.config_path.exists():
            raise ConfigError(f"no unikat.toml in {self.root} (run 'unikat init')")
        return parse_config(self.config_path.read_text(encoding="utf-8"), str(self.config_path))
