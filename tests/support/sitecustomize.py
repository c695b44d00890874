"""Loaded by the app under test (via PYTHONPATH): records every connection that leaves the machine.

Each non-loopback connect or name lookup is appended to $STUDIO_NET_LOG and refused,
so a test can assert that startup and generation stay on this machine.
"""

import os
import socket

_LOG = os.environ.get("STUDIO_NET_LOG")
_LOCAL = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::", ""}
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def _outside(address) -> str | None:
    if not isinstance(address, tuple):
        return None  # a Unix socket
    host = str(address[0])
    return None if host in _LOCAL or host.startswith("127.") else f"{host}:{address[1]}"


def _record(what: str) -> None:
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(what + "\n")


def connect(self, address):
    if (where := _outside(address)) is not None:
        _record(f"connect {where}")
        raise ConnectionRefusedError(f"test: no connection beyond loopback ({where})")
    return _connect(self, address)


def connect_ex(self, address):
    if (where := _outside(address)) is not None:
        _record(f"connect {where}")
        return 111
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and str(host) not in _LOCAL and not str(host).startswith("127."):
        _record(f"lookup {host}")
        raise socket.gaierror(socket.EAI_NONAME, f"test: no lookup beyond loopback ({host})")
    return _getaddrinfo(host, *args, **kwargs)


if _LOG:
    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
