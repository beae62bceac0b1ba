"""Every fetch is checked when it is made: redirects, HLS segments, feeds, an external
downloader and a name that does not resolve, through a loopback trap proxy that answers every
request itself and never forwards one.

The server runs as `make run` starts it, with PIPELINE_DOWNLOAD_PROXY pointing at the trap, so
every request the download and expansion workers make reaches the trap (and only the trap).
"""
import os
import time

import pytest
import requests

from tests.server_support import stage_1_outcome, start_server, wait_state
from tests.trap_support import ALLOWED_HOST, REFUSED_TARGETS, TrapProxy, trap_url


@pytest.fixture(scope="module")
def trap():
    proxy = TrapProxy()
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def trapped_server(tmp_path_factory, trap):
    folder = tmp_path_factory.mktemp("trapped")
    env = dict(os.environ, PIPELINE_DOWNLOAD_PROXY=trap.url, PIPELINE_DOWNLOAD_RETRIES="0",
               PIPELINE_DOWNLOAD_FRAGMENT_RETRIES="0", PIPELINE_DOWNLOAD_SOCKET_TIMEOUT="10",
               PIPELINE_MAX_CONCURRENT_RUNS="2")
    proc, url = start_server(folder / "data", folder / "server.log", env=env)
    yield url, proc
    proc.terminate()
    proc.wait(30)


@pytest.fixture
def reset_trap(trap):
    trap.server.requests.clear()
    return trap


def assert_refused(snapshot, errors, code="refused_address"):
    assert snapshot["state"] == "failed", snapshot
    assert errors and errors[0]["code"] == code, errors


def test_the_trap_carries_an_allowed_download(trapped_server, reset_trap):
    snapshot, _ = stage_1_outcome(trapped_server[0], trap_url("/speech.mp4"))
    assert snapshot["state"] == "completed", snapshot
    assert reset_trap.reached_only()


@pytest.mark.parametrize("form", sorted(REFUSED_TARGETS))
def test_a_redirect_to_a_refused_address_is_not_followed(trapped_server, reset_trap, form):
    snapshot, errors = stage_1_outcome(trapped_server[0], trap_url(f"/redirect/{form}"))
    assert_refused(snapshot, errors)
    assert reset_trap.reached_only(), reset_trap.requests


def test_an_hls_segment_at_a_metadata_address_is_not_fetched(trapped_server, reset_trap):
    snapshot, errors = stage_1_outcome(trapped_server[0], trap_url("/list.m3u8"))
    assert_refused(snapshot, errors)
    assert "169.254.169.254" in errors[0]["message"]
    assert reset_trap.reached_only(), reset_trap.requests


def test_media_that_needs_ffmpeg_to_fetch_it_is_not_handed_to_ffmpeg(trapped_server, reset_trap):
    snapshot, errors = stage_1_outcome(trapped_server[0], trap_url("/list.m3u8?key=SAMPLE-AES"))
    assert_refused(snapshot, errors, "external_downloader")
    assert reset_trap.reached_only(), reset_trap.requests


def test_a_name_that_does_not_resolve_is_not_handed_to_the_proxy(trapped_server, reset_trap):
    snapshot, errors = stage_1_outcome(trapped_server[0], "http://no-such-host.invalid/talk.mp4")
    assert_refused(snapshot, errors, "unresolvable")
    assert reset_trap.requests == []


def post_playlist(url, target, timeout=60):
    return requests.post(f"{url}/pipeline/execute", timeout=timeout,
                         json={"youtube_url": target, "source": "playlist",
                               "selected_stages": [1]})


def test_a_feed_is_read_through_the_checks(trapped_server, reset_trap):
    answer = post_playlist(trapped_server[0], trap_url("/podcast.xml"))
    assert answer.status_code == 202, answer.text
    assert len(answer.json()["session_ids"]) == 1
    for session_id in answer.json()["session_ids"]:
        wait_state(trapped_server[0], session_id, timeout=120)
    assert f"GET http://{ALLOWED_HOST}/podcast.xml HTTP/1.1" in reset_trap.requests


def test_a_feed_that_redirects_to_a_metadata_address_is_refused(trapped_server, reset_trap):
    answer = post_playlist(trapped_server[0], trap_url("/feed.xml"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "refused_address"
    assert reset_trap.reached_only(), reset_trap.requests


def rss_mib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_gzip_bomb_feed_is_answered_quickly_and_the_server_stays_small(trapped_server,
                                                                         reset_trap):
    url, proc = trapped_server
    post_playlist(url, trap_url("/podcast.xml"))   # the first expansion's imports are counted
    before = rss_mib(proc.pid)
    started = time.monotonic()
    answer = post_playlist(url, trap_url("/bomb.xml"))
    took = time.monotonic() - started
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]["code"] == "too_large"
    assert took < 30
    assert rss_mib(proc.pid) - before < 50


def test_a_third_playlist_read_at_once_is_answered_429(trapped_server, reset_trap):
    import concurrent.futures

    url = trapped_server[0]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        slow = [pool.submit(post_playlist, url, trap_url(f"/slow.xml?{n}")) for n in range(2)]
        time.sleep(2)
        third = post_playlist(url, trap_url("/slow.xml?third"))
        assert third.status_code == 429, third.text
        assert third.json()["error"]["code"] == "busy"
        assert [future.result().status_code for future in slow] == [400, 400]
