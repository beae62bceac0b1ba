"""Which network addresses media may be fetched from.

One policy for every place that fetches: the web process checks a submitted URL early (for a
quick answer), and the processes that fetch check each connection again with the address
they actually connect to (services/download/guard.py).

Refused always: link-local addresses (which hold the cloud metadata services), the known
metadata addresses, "this network" (0.0.0.0/8 and ::, which reach this machine), multicast,
broadcast and reserved ranges. Refused with `limits.block_private_networks`: private ranges
(10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10 shared address space). Loopback stays
allowed: a local file server is a media source.

An address is judged by what it stands for: an IPv4 address written in decimal, hex, octal or
short form (2852039166, 0xa9fea9fe, 0251.0376.0251.0376, 127.1) is read the way the system's
resolver reads it, and an IPv6 address that carries an IPv4 address (IPv4-mapped, NAT64
64:ff9b::/96 and 64:ff9b:1::/48, IPv4-compatible ::/96, 6to4, Teredo) is judged by the IPv4
address too.
"""
import ipaddress
import re
import socket

METADATA_NAMES = ("metadata.google.internal", "metadata", "instance-data",
                  "instance-data.ec2.internal")
METADATA_ADDRESSES = tuple(ipaddress.ip_address(text) for text in (
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2"))
ALWAYS_REFUSED = tuple(ipaddress.ip_network(text) for text in (
    "0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "fe80::/10", "ff00::/8"))
PRIVATE = tuple(ipaddress.ip_network(text) for text in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "192.0.0.0/24",
    "198.18.0.0/15", "fc00::/7", "fec0::/10"))
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# What inet_aton reads as an IPv4 address: one to four parts, each decimal, 0x-hex or 0-octal.
NUMERIC_HOST = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}",
                          re.ASCII)


class RefusedAddress(ValueError):
    """A host or address that may not be fetched; `code` is "refused_address" for the policy
    and "unresolvable" for a name that resolves to nothing."""

    def __init__(self, message, code="refused_address"):
        super().__init__(message)
        self.message = message
        self.code = code


def host_address(host):
    """The IP address a URL's host names when it is an address in any written form, else None.

    "[::1]", "::1%eth0", "169.254.169.254." and the BSD forms "2852039166", "0xa9fea9fe",
    "0251.0376.0251.0376" and "127.1" all count; a host name gives None."""
    text = str(host).strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0].rstrip(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if NUMERIC_HOST.fullmatch(text):
        try:
            return ipaddress.ip_address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def carried_ipv4(address):
    """The IPv4 address an IPv6 address carries (mapped, NAT64, compatible, 6to4, Teredo),
    or None."""
    if address.version != 6:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if any(address in network for network in NAT64) or (
            address in IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    return None


def _refusal(address, block_private):
    """What kind of address this is, when it may not be fetched; None when it may."""
    if address.is_loopback:
        return None
    if address in METADATA_ADDRESSES or any(address in net for net in ALWAYS_REFUSED):
        return ("a link-local, cloud-metadata, unspecified or reserved address, which is never "
                "fetched as media")
    if block_private and any(address in network for network in PRIVATE):
        return "a private network address, refused because limits.block_private_networks is set"
    return None


def refused_address(address, block_private=False):
    """Why media may not come from this IP address (an ipaddress object or text), or None."""
    if not isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        address = host_address(address)
        if address is None:
            return None
    kind = _refusal(address, block_private)
    if kind:
        return f"{address} is {kind}."
    carried = carried_ipv4(address)
    kind = _refusal(carried, block_private) if carried is not None else None
    return f"{address} stands for {carried}, {kind}." if kind else None


def refused_host(host, block_private=False):
    """Why a URL's host may not be fetched judging by what it is written as (a metadata name,
    an address in any form), or None; a name still has to be resolved and checked."""
    name = str(host).strip().rstrip(".").lower()
    if name in METADATA_NAMES:
        return f"{name} is a cloud metadata name, which is never fetched as media."
    address = host_address(name)
    return refused_address(address, block_private) if address is not None else None


def checked_addresses(host, infos, block_private=False):
    """`infos` (getaddrinfo's answer for `host`) when every address in it may be fetched;
    RefusedAddress naming the first that may not, or saying that there is none."""
    if not infos:
        raise RefusedAddress(f"{host} does not resolve to any address.", "unresolvable")
    for info in infos:
        address = host_address(info[4][0])
        reason = refused_address(address, block_private) if address is not None else (
            f"{host} resolves to something that is not an IP address.")
        if reason:
            raise RefusedAddress(f"{host} resolves to {reason[0].lower()}{reason[1:]}")
    return infos


def resolve_checked(host, port=None, block_private=False, resolve=None):
    """getaddrinfo's answer for `host` once checked (see checked_addresses); RefusedAddress
    also when the host is refused by how it is written or does not resolve."""
    reason = refused_host(host, block_private)
    if reason:
        raise RefusedAddress(reason)
    try:
        infos = (resolve or socket.getaddrinfo)(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise RefusedAddress(f"{host} does not resolve to any address.", "unresolvable") from None
    return checked_addresses(host, infos, block_private)
