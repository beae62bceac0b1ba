"""The address policy: every written form of an address is judged by what it stands for."""
import ipaddress

import pytest

from services.addresses import (
    RefusedAddress,
    carried_ipv4,
    host_address,
    refused_address,
    refused_host,
    resolve_checked,
)

METADATA = ipaddress.ip_address("169.254.169.254")


@pytest.mark.parametrize("host", [
    "169.254.169.254", "169.254.169.254.", "2852039166", "0xa9fea9fe", "0xA9FEA9FE",
    "0251.0376.0251.0376", "169.254.43518", "0xa9.0xfe.0xa9.0xfe", "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]", "[64:ff9b::a9fe:a9fe]", "[64:ff9b:1::a9fe:a9fe]", "[::a9fe:a9fe]",
    "[2002:a9fe:a9fe::1]", "[fe80::a9fe:a9fe]", "[fe80::1%25eth0]",
])
def test_every_form_of_a_metadata_or_link_local_address_is_refused(host):
    assert refused_host(host.replace("%25", "%")), host


@pytest.mark.parametrize("host", ["0", "0.0.0.0", "0x0", "00", "0.0.0.1", "[::]", "[::2]",
                                  "224.0.0.1", "[ff02::1]", "255.255.255.255", "240.0.0.1",
                                  "metadata.google.internal", "METADATA.google.internal."])
def test_addresses_that_stand_for_this_machine_or_many_are_refused(host):
    assert refused_host(host), host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "[::1]", "localhost", "93.184.216.34",
                                  "[2606:2800:220:1::1]", "example.com", "10.1.2.3",
                                  "[::ffff:127.0.0.1]", "deadbeef", "0x.example"])
def test_public_loopback_and_names_pass_when_private_networks_are_allowed(host):
    assert refused_host(host) is None, host


@pytest.mark.parametrize("host", ["10.1.2.3", "012.1.2.3", "167837955", "172.16.0.1",
                                  "192.168.1.1", "100.64.0.1", "[fd00::1]", "[::ffff:10.0.0.1]",
                                  "[64:ff9b::a01:203]"])
def test_private_ranges_in_any_form_are_refused_when_blocked(host):
    assert refused_host(host) is None
    assert refused_host(host, block_private=True), host


def test_the_written_forms_are_read_as_the_system_reads_them():
    assert host_address("2852039166") == METADATA
    assert host_address("0251.0376.0251.0376") == METADATA
    assert host_address("0xa9fea9fe") == METADATA
    assert host_address("127.1") == ipaddress.ip_address("127.0.0.1")
    assert host_address("example.com") is None and host_address("1.2.3.4.5") is None
    assert carried_ipv4(ipaddress.ip_address("64:ff9b::a9fe:a9fe")) == METADATA
    assert carried_ipv4(ipaddress.ip_address("::1")) is None


def test_the_reason_names_the_address_and_what_it_stands_for():
    reason = refused_address("64:ff9b::a9fe:a9fe")
    assert "64:ff9b::a9fe:a9fe" in reason and "169.254.169.254" in reason


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(RefusedAddress) as caught:
        resolve_checked("no-such-host.invalid")
    assert caught.value.code == "unresolvable"


def test_a_name_is_refused_when_any_of_its_addresses_is():
    def resolver(answers):
        return lambda host, port, *args: [(2, 1, 6, "", (address, 0)) for address in answers]

    with pytest.raises(RefusedAddress):
        resolve_checked("mixed.test", None, resolve=resolver(["127.0.0.1", "169.254.169.254"]))
    assert resolve_checked("fine.test", None, resolve=resolver(["127.0.0.1"]))
    with pytest.raises(RefusedAddress):
        resolve_checked("empty.test", None, resolve=resolver([]))


@pytest.mark.parametrize("url", ["http://0/", "http://[::]/", "http://[64:ff9b::a9fe:a9fe]/a.mp4",
                                 "http://[::a9fe:a9fe]/a.mp4", "http://2852039166/a.mp4",
                                 "http://0251.0376.0251.0376/a.mp4"])
def test_a_run_for_such_an_address_is_refused_at_once(client, url):
    answer = client.post("/pipeline/execute", json={"youtube_url": url, "selected_stages": [1]})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "refused_address"
