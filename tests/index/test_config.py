"""unikat.toml: parsed once into typed sections; a wrong key or value names file, key and what is allowed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO, SAMPLE_DATA, TEST_CONFIG

from index import engines
from index.config import (
    DEFAULT_CONFIG,
    ENGINES,
    ConfigError,
    IndexConfig,
    ServerConfig,
    SruConfig,
    StoreConfig,
    parse_config,
)
from index.consolidation.match import MatchRules
from index.home import Home


def test_default_config_parses_to_the_defaults() -> None:
    config = parse_config(DEFAULT_CONFIG)
    assert (config.server, config.index, config.sru) == (ServerConfig(), IndexConfig(), SruConfig())
    assert config.consolidation.rules == MatchRules() and config.consolidation.enabled
    assert list(config.libraries) == ["A"] and config.users == {}   # a commented example only: no default password
    assert config.ccl["ti"] == "u=4 s=pw" and config.restricted == ()


def test_default_config_names_the_engines_there_are() -> None:
    assert '"whoosh" (default)' in DEFAULT_CONFIG and '"postings"' in DEFAULT_CONFIG
    assert "fts5" not in DEFAULT_CONFIG.lower() and 'engine = "sqlite"' not in DEFAULT_CONFIG   # the engine removed
    assert set(ENGINES) == set(engines.ENGINES)


def test_the_store_section_is_checked() -> None:
    assert parse_config("").store == StoreConfig()   # SQLite in the home
    dsn = "postgresql://unikat@db.example.org/catalog"
    assert parse_config(f'[store]\nbackend = "postgresql"\ndsn = "{dsn}"\n').store == StoreConfig("postgresql", dsn)
    with pytest.raises(ConfigError, match=r'\[store\] dsn: missing \(backend "postgresql" needs'):
        parse_config('[store]\nbackend = "postgresql"\n')
    with pytest.raises(ConfigError, match=r"\[store\] backend: must be one of \"sqlite\", \"postgresql\""):
        parse_config('[store]\nbackend = "oracle"\n')
    with pytest.raises(ConfigError, match=r"\[store\] dsn: must be a libpq connection string"):
        parse_config('[store]\nbackend = "postgresql"\ndsn = "catalog"\n')


def test_sample_config_parses() -> None:
    config = parse_config((SAMPLE_DATA / "unikat.toml").read_text(encoding="utf-8"))
    assert config.name == "unikat sample union catalog" and config.database == "unikat"
    assert config.server.port == 2100 and config.server.idle_timeout == 900.0
    assert isinstance(config.server.idle_timeout, float)
    assert list(config.libraries) == ["A", "B", "C", "ZDB"]
    assert config.libraries["B"].priority == 5 and config.libraries["ZDB"].holdings == "pica"
    assert config.libraries["A"].require_holdings is True
    assert config.ccl["lang"] == "u=54"


def test_every_unikat_toml_in_the_repository_parses() -> None:
    paths = [path for path in REPO.rglob("unikat.toml") if ".venv" not in path.parts]
    assert SAMPLE_DATA / "unikat.toml" in paths
    for path in paths:
        parse_config(path.read_text(encoding="utf-8"), str(path))


def test_test_config_parses() -> None:
    config = parse_config(TEST_CONFIG)
    assert config.server.max_result_sets == 5 and config.restricted == ("B",)
    assert config.server.max_message_size == ServerConfig().max_message_size


def test_absent_keys_take_defaults_and_library_names_their_code() -> None:
    config = parse_config('[libraries.X]\n[index]\nengine = "postings"\n[sru]\nmaximum_records = 25\n')
    library = config.libraries["X"]
    assert (library.code, library.name, library.source_system, library.holdings) == ("X", "X", "X", "852")
    assert config.index.engine == "postings"
    assert config.sru.maximum_records == 25 and config.sru.default_records == SruConfig().default_records


@pytest.mark.parametrize(("text", "message"), [
    # unknown section
    ("[sever]\nport = 210\n",
     "unikat.toml: unknown section [sever] (allowed: catalog, server, store, index, sru, libraries, users, databases,"
     " consolidation, ccl"),   # a prefix: sections added later follow
    # unknown keys
    ("[server]\nidle_timout = 60\n",
     "unikat.toml: [server] unknown key 'idle_timout' (allowed: host, port, workers, idle_timeout,"),
    ("[sru]\nmax_records = 5\n", "unikat.toml: [sru] unknown key 'max_records' (allowed: default_records,"),
    ("[libraries.A]\nsource = \"A-ILS\"\n", "unikat.toml: [libraries.A] unknown key 'source' (allowed: name,"),
    ("[users.x]\npasswd = \"s\"\n", "unikat.toml: [users.x] unknown key 'passwd' (allowed: password_hash)"),
    ("[consolidation]\nthreshhold = 1\n", "unikat.toml: [consolidation] unknown key 'threshhold' (allowed: enabled,"),
    # wrong types
    ("[server]\nidle_timeout = \"abc\"\n",
     "unikat.toml: [server] idle_timeout: must be a number of seconds > 0, not 'abc'"),
    ("[server]\nport = \"2100\"\n", "unikat.toml: [server] port: must be an integer from 0 to 65535, not '2100'"),
    ("[server]\nworkers = true\n", "unikat.toml: [server] workers: must be an integer >= 1, not True"),
    ("[sru]\nresult_set_ttl = \"soon\"\n",
     "unikat.toml: [sru] result_set_ttl: must be a whole number of seconds >= 0, not 'soon'"),
    ("[libraries.A]\nrequire_holdings = 1\n", "unikat.toml: [libraries.A] require_holdings: must be true or false, not 1"),
    ("[databases]\nrestricted = \"B\"\n", "unikat.toml: [databases] restricted: must be a list of strings, not 'B'"),
    ("[ccl]\nti = 4\n", "unikat.toml: [ccl] ti: must be Bib-1 attributes as YAZ writes them"),
    ("server = 2100\n", "unikat.toml: [server] must be a table, not 2100"),
    ("[libraries]\nA = \"Library A\"\n", "unikat.toml: [libraries.A] must be a table, not 'Library A'"),
    # values out of range
    ("[server]\nidle_timeout = 0\n", "unikat.toml: [server] idle_timeout: must be a number of seconds > 0, not 0"),
    ("[server]\nport = 70000\n", "unikat.toml: [server] port: must be an integer from 0 to 65535, not 70000"),
    ("[server]\nmax_message_size = 0\n",
     "unikat.toml: [server] max_message_size: must be a number of bytes >= 1, not 0"),
    ("[sru]\nmaximum_records = -1\n", "unikat.toml: [sru] maximum_records: must be an integer >= 1, not -1"),
    ("[libraries.A]\nholdings = \"items\"\n",
     "unikat.toml: [libraries.A] holdings: must be one of \"852\", \"record\", \"pica\", \"852-all\","
     " not 'items'"),
    ("[users.x]\n", "unikat.toml: [users.x] password_hash: missing (must be a hash written by"),
    ("[consolidation]\nthreshold = -1\n", "unikat.toml: [consolidation] threshold: must be a number > 0, not -1"),
    ("[consolidation.agree]\nshoe_size = 1\n", "unikat.toml: [consolidation.agree] shoe_size: unknown element"),
    # engine names
    ("[index]\nengine = \"sqlite\"\n",
     "unikat.toml: [index] engine: must be one of \"whoosh\", \"postings\", not 'sqlite'"),
    ("[index]\nengine = \"Whoosh \"\n", "unikat.toml: [index] engine: must be one of \"whoosh\", \"postings\","),
    # not TOML at all
    ("[server\nport = 1\n", "unikat.toml: "),
])
def test_mistakes_name_file_key_and_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert str(caught.value).startswith(message)


def test_home_names_its_file(tmp_path) -> None:
    home = Home(tmp_path)
    with pytest.raises(ConfigError, match="no unikat.toml in"):
        home.config()
    home.init("[server]\nidle_timout = 60\n")
    with pytest.raises(ConfigError) as caught:
        home.config()
    assert str(caught.value).startswith(f"{home.config_path}: [server] unknown key 'idle_timout' (allowed: host,")


def test_unikat_fails_at_start_with_the_message(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "unikat.toml").write_text("[server]\nidle_timout = 60\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "zserver.cli", "--home", str(home), "stats"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"unikat: {home / 'unikat.toml'}: [server] unknown key 'idle_timout' (allowed: host,"
                           " port, workers, idle_timeout,") and line.endswith(")")
