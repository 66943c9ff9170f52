"""What a process that should have started is doing, read from /proc (Linux).

For the error (or warning) of a local-stack service that misses its start-up deadline: whether it
was running, blocked in the kernel or waiting idle, who holds its port, and how busy the machine
was. Elsewhere than on Linux each part says it has nothing to show.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from pathlib import Path

PROC = Path("/proc")
_STATES = {
    "R": "running",
    "S": "sleeping",
    "D": "blocked in the kernel (uninterruptible)",
    "T": "stopped",
    "t": "stopped by a tracer",
    "Z": "exited, not reaped",
    "I": "idle",
}
_TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


def describe_process(pid: int) -> str:
    """State, kernel wait channel and CPU seconds of the process, and what its threads wait in."""
    folder = PROC / str(pid)
    try:
        state, cpu = _stat(folder)
        tasks = list((folder / "task").iterdir())
    except OSError as error:
        return f"pid {pid}: no /proc details ({error.strerror or error})"
    threads: Counter[str] = Counter()
    for task in tasks:
        try:
            threads[f"{_stat(task)[0]}{_wchan(task)}"] += 1
        except OSError:
            continue  # ended meanwhile
    waits = ", ".join(f"{count} {what}" for what, count in threads.most_common())
    return f"pid {pid} {_STATES.get(state, state)}{_wchan(folder)}, {cpu:.2f} s of CPU; {len(tasks)} threads: {waits}"


def describe_port(port: int) -> str:
    """Every TCP socket bound to the port on this machine, its state and the process holding it."""
    sockets: list[tuple[str, str]] = []  # (inode, "address:port state")
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port:
                sockets.append((fields[9], f"{_address(address, family)}:{port} {_TCP_STATES.get(fields[3], fields[3])}"))
    if not sockets:
        return f"port {port}: no TCP socket" if PROC.joinpath("net", "tcp").exists() else f"port {port}: no /proc/net here"
    owners = _socket_owners({inode for inode, _ in sockets})
    # Inode 0: a connection in TIME_WAIT, which no process holds any more.
    return f"port {port}: " + "; ".join(
        entry if inode == "0" else f"{entry} held by {owners.get(inode, 'a process this user cannot see')}" for inode, entry in sockets
    )


def describe_machine() -> str:
    """Load average, available memory and, where the kernel reports it (PSI), how long tasks waited
    for CPU, I/O and memory."""
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    parts = [f"load average {load} on {os.cpu_count()} CPUs"]
    pressure = []
    for resource in ("cpu", "io", "memory"):
        try:
            some = (PROC / "pressure" / resource).read_text().splitlines()[0].split()
        except (OSError, IndexError):
            continue
        pressure.append(f"{resource} {some[1].removeprefix('avg10=')}%")
    if pressure:
        parts.append("share of the last 10 s some task waited for " + ", ".join(pressure))
    try:
        meminfo = dict(line.split(":", 1) for line in (PROC / "meminfo").read_text().splitlines())
        parts.append(
            f"memory available {int(meminfo['MemAvailable'].split()[0]) // 1024} MiB of {int(meminfo['MemTotal'].split()[0]) // 1024} MiB"
        )
    except (OSError, KeyError, ValueError):
        pass
    return "; ".join(parts)


def _stat(folder: Path) -> tuple[str, float]:
    """The state letter and the user+system CPU seconds from a /proc/<pid>[/task/<tid>]/stat file."""
    text = (folder / "stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return fields[0], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wchan(folder: Path) -> str:
    """The kernel function the task sleeps in, as ' in <name>'; empty while it runs or when not shown."""
    try:
        wchan = (folder / "wchan").read_text().strip()
    except OSError:
        return ""
    return f" in {wchan}" if wchan not in ("", "0") else ""


def _address(hex_address: str, family: int) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc/net/tcp* print each 32-bit word of the address in host (little-endian) order.
    ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    text = socket.inet_ntop(family, ordered)
    return f"[{text}]" if family == socket.AF_INET6 else text


def _socket_owners(inodes: set[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    for process in PROC.glob("[0-9]*"):
        try:
            descriptors = list((process / "fd").iterdir())
            command = " ".join((process / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ").split())
        except OSError:
            continue  # exited meanwhile, or another user's
        for descriptor in descriptors:
            try:
                inode = wanted.get(os.readlink(descriptor))
            except OSError:
                continue  # closed meanwhile (the listing's own descriptor, for one)
            if inode is not None:
                owners[inode] = f"pid {process.name} ({command[:160]})"
    return owners
