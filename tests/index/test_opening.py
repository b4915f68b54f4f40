"""Opening a catalog never builds an index: `unikat index` and `unikat serve` do, explicitly."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ENGINES, SAMPLE_DATA, load, make_home

from index import engines, errors
from index.search import Catalog


@pytest.mark.parametrize("engine", ENGINES)
def test_opening_without_an_index_fails_and_unikat_index_builds_it(tmp_path, engine):
    home = make_home(tmp_path / "home", engine=engine)
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    directory = engines.index_dir(home, home.config())
    shutil.rmtree(directory)
    with pytest.raises(errors.IndexNotBuilt, match="unikat index"):
        Catalog(home)
    assert not directory.exists()      # opening built nothing

    unikat = [sys.executable, "-m", "zserver", "--home", str(home.root)]
    refused = subprocess.run([*unikat, "search", "@attr 1=4 history"], capture_output=True, text=True)
    assert refused.returncode == 2
    assert "run 'unikat index'" in refused.stderr

    built = subprocess.run([*unikat, "index"], capture_output=True, text=True, check=True)
    assert "rebuilt search-key files and index" in built.stdout
    found = subprocess.run([*unikat, "search", "@attr 1=4 history"], capture_output=True, text=True, check=True)
    assert int(found.stdout.split()[0]) > 0


def test_an_index_of_an_older_layout_is_not_opened(tmp_path):
    home = make_home(tmp_path / "home")
    load(home, "A", SAMPLE_DATA / "lib-a.mrc")
    (engines.index_dir(home, home.config()) / "LAYOUT").write_text("0: older\n")
    with pytest.raises(errors.IndexNotBuilt):
        Catalog(home)
