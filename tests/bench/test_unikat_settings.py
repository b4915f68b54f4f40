"""bench/common.unikat_settings: settings merged into the home's unikat.toml while serving
(into a table the file has, since TOML allows each once), and the file as it was afterwards."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from common import unikat_settings  # noqa: E402


def test_settings_go_into_existing_and_new_tables(tmp_path: Path) -> None:
    config = tmp_path / "unikat.toml"
    original = '[catalog]\nname = "benchmark"\n[index]\nengine = "postings"\n'
    config.write_text(original, encoding="utf-8")
    with unikat_settings(tmp_path, ["index.kept_searches=0", "sru.hit_count_answers=0", 'catalog.database="x"']):
        read = tomllib.loads(config.read_text(encoding="utf-8"))
        assert read["index"] == {"kept_searches": 0, "engine": "postings"}
        assert read["sru"] == {"hit_count_answers": 0}
        assert read["catalog"] == {"database": "x", "name": "benchmark"}
    assert config.read_text(encoding="utf-8") == original


def test_a_setting_without_a_section_is_refused(tmp_path: Path) -> None:
    (tmp_path / "unikat.toml").write_text("", encoding="utf-8")
    with pytest.raises(SystemExit, match="section.key=value"), unikat_settings(tmp_path, ["kept_searches=0"]):
        pass
