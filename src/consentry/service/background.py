"""Serve an app on a loopback port from a background thread (tests, benchmarks, ``--get``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import uvicorn
from fastapi import FastAPI


@contextmanager
def running(
    app: FastAPI,
    host: str = "127.0.0.1",
    *,
    timeout: float = 15.0,
    lifespan: Literal["on", "off"] = "off",
) -> Iterator[str]:
    """Yield the base URL of ``app`` served by uvicorn on a free port; stop it afterwards.

    The lifespan (the webhook sender's thread) is off unless asked for with ``lifespan="on"``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    # proxy_headers off: the app believes forwarding headers only from its configured proxies.
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server on {host}:{port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
