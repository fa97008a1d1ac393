"""CPU seconds spent by each part of a running stack, read from /proc (Linux).

Latency says how long a cardholder waits; CPU per turn says why. On a small
machine every process competes for the same cores, so the benchmark charges
each answered turn with the CPU time of every process that served it: ours
(gateway, action server, Rasa servers, with their children: nginx's workers)
and the shared services (the PostgreSQL server's backends, Redis). CPU time,
not wall time: it does not count waiting, so a slow neighbour on a shared
machine inflates it much less than it inflates latency.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

PROC = Path("/proc")
# Shared services, by the command name their processes carry.
SERVICES = {"postgres": "postgres", "redis": "redis-server"}

CpuSnapshot = dict[str, float]
Sampler = Callable[[], CpuSnapshot]


def available() -> bool:
    return (PROC / "self" / "stat").exists()


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, user + system seconds) of one process."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone meanwhile
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return name, int(fields[1]), ticks / os.sysconf("SC_CLK_TCK")


def _all() -> dict[int, tuple[str, int, float]]:
    found = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            found[int(entry.name)] = stat
    return found


def snapshot(roots: Mapping[str, int], services: Mapping[str, str] = SERVICES) -> CpuSnapshot:
    """CPU seconds so far of each named process tree, and of each service by command name."""
    table = _all()
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in table.items():
        children.setdefault(parent, []).append(pid)

    def tree(pid: int) -> float:
        total, todo = 0.0, [pid]
        while todo:
            current = todo.pop()
            if current in table:
                total += table[current][2]
            todo.extend(children.get(current, ()))
        return total

    result = {name: tree(pid) for name, pid in roots.items()}
    for name, command in services.items():
        result[name] = sum(cpu for comm, _, cpu in table.values() if comm.startswith(command))
    return result


def per_turn_ms(before: CpuSnapshot, after: CpuSnapshot, turns: int) -> dict[str, float]:
    """Milliseconds of CPU per answered turn, per part, and their total."""
    if turns <= 0:
        return {}
    spent = {name: max(0.0, after.get(name, 0.0) - before.get(name, 0.0)) for name in after}
    result = {name: round(1000 * seconds / turns, 2) for name, seconds in spent.items()}
    result["total"] = round(sum(result.values()), 2)
    return result


def sampler(processes: Iterable[tuple[str, int | None]]) -> Sampler | None:
    """A snapshot function for these (name, pid) pairs; None where /proc is missing."""
    roots = {name: pid for name, pid in processes if pid is not None}
    if not available() or not roots:
        return None
    return lambda: snapshot(roots)
