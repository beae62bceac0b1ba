"""A test resolver and connection trap for the server and the processes it starts (loaded by
Python at start-up when this folder is on PYTHONPATH and TEST_RESOLVER_FILE is set).

TEST_RESOLVER_FILE is a JSON file {"names": {name: [address, ...]}, "lookups": {}}: the n-th
lookup of a listed name answers its n-th address (the last one from then on), counted across
processes; other names resolve as usual. Any connection to an address outside loopback is
refused and recorded in the file's "connects", so no packet leaves the machine.
"""
import fcntl
import ipaddress
import json
import os
import socket

STATE = os.environ.get("TEST_RESOLVER_FILE")


def _update(change):
    with open(STATE, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        state = json.load(handle)
        result = change(state)
        handle.seek(0)
        handle.truncate()
        json.dump(state, handle)
        return result


def _answer(name):
    def change(state):
        answers = state["names"].get(name)
        if not answers:
            return None
        count = state["lookups"].get(name, 0)
        state["lookups"][name] = count + 1
        return answers[min(count, len(answers) - 1)]

    return _update(change)


def _install():
    system_getaddrinfo = socket.getaddrinfo
    system_connect = socket.socket.connect
    system_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        address = _answer(name) if isinstance(name, str) else None
        return system_getaddrinfo(address or host, port, *args, **kwargs)

    def outside(sock, address):
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return False
        try:
            return not ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
        except ValueError:
            return True

    def record(address):
        _update(lambda state: state.setdefault("connects", []).append(str(address[0])))
        raise ConnectionRefusedError(111, "refused by the test's connection trap")

    def connect(sock, address):
        if outside(sock, address):
            record(address)
        return system_connect(sock, address)

    def connect_ex(sock, address):
        if outside(sock, address):
            record(address)
        return system_connect_ex(sock, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex


if STATE:
    _install()
