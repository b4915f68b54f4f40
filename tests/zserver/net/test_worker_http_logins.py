"""The worker's one LoginGuard checks HTTP Basic logins too: failures count with Z39.50's."""

from __future__ import annotations

import base64

from zserver.net.worker import Worker

WRONG = "Basic " + base64.b64encode(b"librarian:wrong").decode()
RIGHT = "Basic " + base64.b64encode(b"librarian:secret").decode()


def test_http_logins_use_the_worker_guard(sample_home) -> None:
    worker = Worker.open(sample_home, log=lambda line: None)
    try:
        assert worker.http.login_guard is worker.login_guard
        for _ in range(worker.login_guard.policy.max_failures):
            assert worker.http.respond("GET", b"/unikat", authorization=WRONG, address="10.9.9.9").status == 401
        locked = worker.http.respond("GET", b"/unikat", authorization=RIGHT, address="10.9.9.9")
        assert locked.status == 401 and b"locked" in locked.body
        assert worker.login_guard.tracked() >= 2   # the name and the address, as for Z39.50
    finally:
        worker.close()
