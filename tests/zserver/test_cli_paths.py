"""`unikat` commands given a path they cannot write: one line saying which, exit status 1, no
traceback (export --out, ejournals --out)."""

from __future__ import annotations

import pytest

from zserver.cli import main


@pytest.mark.parametrize(("arguments", "why"), [
    (["export", "--out", "{tmp}/no/such/dir/all.mrc"], "No such file or directory: {tmp}/no/such/dir/all.mrc"),
    (["ejournals", "--out", "{tmp}/a-file"], "File exists: {tmp}/a-file"),
])
def test_a_path_that_cannot_be_written_is_one_line(sample_home, tmp_path, capsys, arguments, why) -> None:
    (tmp_path / "a-file").write_text("x")
    status = main(["--home", str(sample_home.root), *(a.format(tmp=tmp_path) for a in arguments)])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and error[-1].startswith("unikat: " + why.format(tmp=tmp_path)), error
    assert "Traceback" not in "\n".join(error)
