"""Blocks every network connection except to loopback, for the whole process.

Put this folder on PYTHONPATH: Python imports `sitecustomize` at start-up. Each refused
attempt is appended to the file named by RAG_NETBLOCK_LOG, so a test can show that the
process never tried to reach the outside (and still worked).
"""

import os
import socket

_LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0", ""}
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def _refuse(what):
    log = os.environ.get("RAG_NETBLOCK_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{what}\n")
    raise OSError(f"network access blocked: {what}")


def _check(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and str(address[0]) not in _LOOPBACK \
            and not str(address[0]).startswith("127."):
        _refuse(f"connect {address}")


def connect(self, address):
    _check(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and str(host) not in _LOOPBACK and not str(host).startswith("127."):
        _refuse(f"resolve {host}")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
