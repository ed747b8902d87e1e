"""Run the provider: `serve` in this process, or `running_server` as a child process."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import httpx

from casestudy.provider.accounts import create_account
from casestudy.provider.settings import ProviderSettings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(settings: ProviderSettings) -> None:
    """Refuse to expose the model beyond this machine unless `allow_remote` says so."""
    if not is_loopback(settings.host) and not settings.allow_remote:
        raise PermissionError(
            f"host {settings.host!r} is not a loopback address; the server would be reachable from "
            "other machines. Pass --allow-remote (settings.allow_remote=True) to do that on purpose."
        )


def serve(settings: ProviderSettings, parent_pid: int | None = None) -> None:
    """Serve until interrupted (uvicorn, one worker: the model lives in this process).

    With `parent_pid`, the server also stops when that process is gone, so a notebook
    kernel that dies does not leave a server holding the model.
    """
    import uvicorn

    from casestudy.provider.app import create_app

    check_host(settings)
    if parent_pid is not None:
        threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    uvicorn.run(create_app(settings), **uvicorn_options(settings))


def uvicorn_options(settings: ProviderSettings) -> dict:
    """uvicorn's settings for a deployment: its address, and deadlines for slow or idle clients
    (h11 with head and body deadlines, `casestudy.provider.connections`; uvicorn's keep-alive)."""
    from casestudy.provider.connections import timed_protocol

    return dict(host=settings.host, port=settings.port, log_level="warning", timeout_graceful_shutdown=10,
                http=timed_protocol(settings.header_timeout_s, settings.body_timeout_s),
                timeout_keep_alive=settings.timeout_keep_alive_s)


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class ServerHandle:
    settings: ProviderSettings
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    @property
    def base_url(self) -> str:
        """What the openai client takes as `base_url`."""
        return self.url + "/v1"

    def create_account(self, name: str, rpm: int | None = None, tpm: int | None = None) -> str:
        """A new account on this server; returns its API key."""
        return create_account(self.settings.accounts_db, name, rpm=rpm, tpm=tpm)

    def client(self, api_key: str, **kwargs):
        import openai
        return openai.OpenAI(base_url=self.base_url, api_key=api_key, **kwargs)

    def async_client(self, api_key: str, **kwargs):
        import openai
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=api_key, **kwargs)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@contextmanager
def running_server(settings: ProviderSettings, startup_timeout_s: float = 180.0) -> Iterator[ServerHandle]:
    """Start the server as a child process on a free loopback port, wait until it answers,
    yield its handle, and always stop it (SIGTERM, then SIGKILL after 15 s)."""
    with running_servers(settings, startup_timeout_s=startup_timeout_s) as (handle,):
        yield handle


@contextmanager
def running_servers(*settings: ProviderSettings, startup_timeout_s: float = 180.0) -> Iterator[list[ServerHandle]]:
    """Several servers at once (e.g. a provider and its unwatermarked control), started in
    parallel so their model loads overlap."""
    with tempfile.TemporaryDirectory(prefix="provider-") as tmp:
        handles: list[ServerHandle] = []
        try:
            for i, one in enumerate(settings):
                handles.append(start_server(one, Path(tmp) / str(i)))
            for handle in handles:
                wait_until_ready(handle, startup_timeout_s)
            yield handles
        finally:
            for handle in handles:
                handle.process.terminate()
            for handle in handles:
                try:
                    handle.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    handle.process.kill()
                    handle.process.wait()


def start_server(settings: ProviderSettings, workdir: Path) -> ServerHandle:
    """Launch `python -m casestudy.provider serve` (a free port when the host is loopback)."""
    if is_loopback(settings.host):
        settings = replace(settings, port=free_port(settings.host))
    check_host(settings)
    # The watermark key travels in this file (mode 0600), never in the child's argv.
    settings_path = settings.save(workdir / "settings.json")
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "casestudy.provider", "serve", "--settings", str(settings_path),
             "--parent-pid", str(os.getpid())],
            stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return ServerHandle(settings, process, log_path)


def wait_until_ready(handle: ServerHandle, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if handle.process.poll() is not None:
            raise RuntimeError(f"the provider server exited with code {handle.process.returncode}:\n"
                               f"{handle.log_tail()}")
        try:
            if httpx.get(handle.url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the provider server did not answer within {timeout_s} s:\n{handle.log_tail()}")
