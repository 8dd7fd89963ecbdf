"""What the benchmarks share: peak memory of a phase's process, a context on the bench database."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def bench_context(url: str) -> Any:
    """A context on the bench database (imported late: a phase may run on a baseline's sources)."""
    from territoria.context import Context
    from territoria.settings import Settings

    try:  # the domains' packaged schemas, sources and observers, as the app and the CLI load them
        from territoria import plugins

        plugins.load()
    except ImportError:  # a baseline from before the domain contract had them built in
        pass
    return Context(Settings(database_url=url, demo=True))
