"""DNS rebinding: a request whose Host is not this server's name is refused with 400 before it
can start, read or download anything, over HTTP and Socket.IO alike."""
import pytest
import socketio

from webui.hosts import allowed_names, host_allowed, host_name

FOREIGN = ("rebound.example", "rebound.example:5000", "evil.127.0.0.1.nip.io", "[::2]:80",
           "::1", "localhost:0", "localhost:65536", "ex\u00e9.com", "", "a b", "[::1")


@pytest.mark.parametrize("host", FOREIGN)
def test_requests_for_another_host_are_refused(client, host):
    run = client.post("/pipeline/execute", headers={"Host": host, "Origin": f"http://{host}"},
                      json={"youtube_url": "http://127.0.0.1:9/x.mp4"})
    assert run.status_code == 400 and run.get_json()["error"]["code"] == "bad_host"
    assert client.get("/api/presets", headers={"Host": host}).status_code == 400
    page = client.get("/runs", headers={"Host": host})
    assert page.status_code == 400 and b"allowed_hosts" in page.data


@pytest.mark.parametrize("host", ("localhost", "localhost:5000", "127.0.0.1:8080", "[::1]:5000",
                                  "127.1.2.3", "LOCALHOST"))
def test_loopback_names_are_served(client, host):
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_the_bound_address_and_allowed_hosts_are_served():
    names = allowed_names({"server": {"host": "192.168.1.20", "allowed_hosts": ["Pipeline.LAN."]}})
    assert host_allowed("192.168.1.20:5000", names) and host_allowed("pipeline.lan", names)
    assert not host_allowed("other.lan", names)
    assert "0.0.0.0" not in allowed_names({"server": {"host": "0.0.0.0"}})
    assert host_name("[fe80::1]:80") == "fe80::1" and host_name("[zz]:80") is None


def test_a_socket_from_another_host_cannot_connect(live_server):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server.url, headers={"Host": "rebound.example"},
                       transports=["polling"], wait_timeout=5)
    assert not client.connected
    good = socketio.Client(reconnection=False)
    good.connect(live_server.url, transports=["polling"], wait_timeout=5)
    assert good.connected
    good.disconnect()


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/a.mp4",
                                 "http://metadata.google.internal/x", "http://[fd00:ec2::254]/",
                                 "http://100.100.100.200/x", "http://[::ffff:169.254.169.254]/x"])
def test_link_local_and_metadata_addresses_are_not_media(client, url):
    answer = client.post("/pipeline/execute", json={"youtube_url": url, "selected_stages": [1]})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "refused_address"


def test_private_networks_only_when_asked(client, live_server, monkeypatch):
    from services.addresses import RefusedAddress, resolve_checked

    url = {"youtube_url": "http://192.168.0.10/a.mp4", "selected_stages": [1]}
    allowed = client.post("/pipeline/execute", json=dict(url, episode_directory="private-ok"))
    assert allowed.status_code == 202
    client.post(f"/api/pipeline/cancel/{allowed.get_json()['session_id']}", json={})
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["limits"], "block_private_networks", True)
    refused = client.post("/pipeline/execute", json=url)
    assert refused.status_code == 400 and "block_private_networks" in refused.get_json()["error"]["message"]
    assert resolve_checked("localhost", None, True)          # loopback stays allowed
    with pytest.raises(RefusedAddress, match="link-local"):  # a name is checked once resolved
        resolve_checked("169.254.169.254")
