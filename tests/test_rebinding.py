"""A name that resolves to loopback when it is checked and to a metadata address when it is
fetched (DNS rebinding) is refused: the download worker checks the address it connects to.

The server and its workers use the test resolver of tests/resolver/sitecustomize.py, which
also refuses and records any connection outside loopback, so no packet leaves the machine.
"""
import json
import os
from pathlib import Path

import pytest

from tests.server_support import stage_1_outcome, start_server

RESOLVER = Path(__file__).parent / "resolver"


@pytest.fixture(scope="module")
def resolver_state(tmp_path_factory):
    state = tmp_path_factory.mktemp("resolver") / "names.json"
    state.write_text(json.dumps({"names": {"rebind.test": ["127.0.0.1", "169.254.169.254"],
                                           "steady.test": ["127.0.0.1"]},
                                 "lookups": {}, "connects": []}))
    return state


@pytest.fixture(scope="module")
def resolving_server(tmp_path_factory, resolver_state):
    folder = tmp_path_factory.mktemp("rebinding")
    path = os.pathsep.join(filter(None, [str(RESOLVER), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path, TEST_RESOLVER_FILE=str(resolver_state),
               PIPELINE_DOWNLOAD_RETRIES="0", PIPELINE_DOWNLOAD_FRAGMENT_RETRIES="0")
    proc, url = start_server(folder / "data", folder / "server.log", env=env)
    yield url
    proc.terminate()
    proc.wait(30)


def test_the_test_resolver_reaches_the_download_worker(resolving_server, media_server):
    port = media_server.rsplit(":", 1)[1]
    snapshot, _ = stage_1_outcome(resolving_server, f"http://steady.test:{port}/fast/steady.mp4")
    assert snapshot["state"] == "completed", snapshot


def test_a_name_that_rebinds_to_a_metadata_address_is_refused(resolving_server, media_server,
                                                              resolver_state):
    port = media_server.rsplit(":", 1)[1]
    snapshot, errors = stage_1_outcome(resolving_server,
                                       f"http://rebind.test:{port}/fast/rebound.mp4")
    state = json.loads(resolver_state.read_text())
    assert state["connects"] == []
    assert state["lookups"]["rebind.test"] >= 2
    assert snapshot["state"] == "failed"
    assert errors[0]["code"] == "refused_address" and "169.254.169.254" in errors[0]["message"]
