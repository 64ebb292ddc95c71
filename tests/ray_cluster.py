"""A real two-node Ray cluster on this machine for the tests, every address on loopback.

``ray start --head`` on 127.0.0.2 and a second ``ray start --address`` node on 127.0.0.3, each with its own CPUs
and temp folder: Ray rewrites 127.0.0.1 to the machine's network address but leaves the rest of 127.0.0.0/8
alone, so nothing leaves the machine. The cluster uses Ray's token authentication with a token of its own
(``env``: for the nodes, the app joining it and a test driver), so a token in ``~/.ray`` changes nothing. ``stop``
ends exactly the nodes this helper started (``ray stop`` would end every Ray on the machine).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.live_server import free_port

HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"
RAY = Path(sys.executable).with_name("ray")


class RayCluster:
    def __init__(self, cpus_per_node: int = 1):
        self.home = Path(tempfile.mkdtemp(prefix="visionary-ray-"))
        self.cpus = cpus_per_node
        self.port = free_port()
        self.token = self.home / "auth_token"
        self.token.write_text(secrets.token_hex(32))

    @property
    def address(self) -> str:
        return f"{HEAD_IP}:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment a process joining this cluster needs: its token, no usage reports."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(self.token), "RAY_USAGE_STATS_ENABLED": "0"}

    def _ray_start(self, name: str, *args: str) -> None:
        """Start one node; its processes are found later by the node's own temp folder."""
        temp = self.home / name
        env = {**os.environ, **self.env}
        done = subprocess.run([str(RAY), "start", f"--num-cpus={self.cpus}", "--disable-usage-stats",
                               f"--temp-dir={temp}", *args], capture_output=True, text=True, timeout=120, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"`ray start {' '.join(args)}` failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    def start(self, worker: bool = True) -> "RayCluster":
        """The head, then the second node (``worker=False``: the head alone, as when it comes back first)."""
        try:
            self._ray_start("head", "--head", f"--node-ip-address={HEAD_IP}", f"--port={self.port}",
                            "--include-dashboard=false")
            if worker:
                self._ray_start("worker", f"--address={self.address}", f"--node-ip-address={WORKER_IP}")
            self._wait_for_nodes(2 if worker else 1)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_nodes(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run([str(RAY), "status", f"--address={self.address}"], capture_output=True, text=True,
                                 timeout=60, env={**os.environ, **self.env})
            if out.stdout.count("node_") >= count:
                return
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not show {count} nodes:\n{out.stdout}\n{out.stderr}")

    def kill_nodes(self) -> None:
        """Kill this cluster's nodes at once, as a lost machine would: the processes whose command line names its
        temp folder, and their children (Ray's workers rename themselves ``ray::…``)."""
        for pid in _with_descendants(_pids_matching(str(self.home))):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.kill_nodes()
        subprocess.run(["rm", "-rf", str(self.home)], check=False)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        found[int(entry.name)] = (parent, command)
    return found


def _pids_matching(mark: str) -> list[int]:
    return [pid for pid, (_, command) in _processes().items() if mark in command and pid != os.getpid()]


def _with_descendants(pids: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in _processes().items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found and pid != os.getpid():
            found.append(pid)
            todo.extend(children.get(pid, ()))
    return found
