"""Building open-data releases of the demo's electricity dataset: time per preset, rows and secret cells.

Uses a demo data directory (`--data-dir`, e.g. the one `territoria demo` filled) or simulates one
(2,000 assets × 30 days by default, on SQLite). Each preset is published once on a copy of the
database, so the demo's own releases are left alone; figures: seconds to publish (extract from the
rollups, cells, disclosure control, independent checker, Parquet, change log), rows, secret cells
by reason, and the process's peak RSS.

    uv run python bench/bench_publish.py --data-dir territoria-data     # reuse a demo
    uv run python bench/bench_publish.py --assets 500 --days 7          # quick, simulated
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from territoria.catalog.service import get_dataset
from territoria.context import Context
from territoria.db.migrate import upgrade
from territoria.opendata.policies import set_policy
from territoria.opendata.service import publish
from territoria.settings import Settings
from territoria.simulate.city import build_city
from territoria.simulate.service import ensure_territory, install_city, load_history

PRESETS = ("fr-energy-by-commune", "fr-load-curve")


def _simulate(folder: Path, assets: int, days: int) -> Path:
    """A fresh SQLite database with a simulated city; returns its file."""
    from datetime import UTC, datetime, timedelta

    db = folder / "territoria.db"
    ctx = Context(Settings(database_url=f"sqlite:///{db}", demo=True))
    upgrade(ctx.engine)
    ensure_territory(ctx)
    city = build_city(assets, 6)
    install_city(ctx, city)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    load_history(ctx, city, end - timedelta(days=days), end, seed=6)
    ctx.engine.dispose()
    return db


def _publish_once(db: Path, preset: str, folder: Path) -> dict[str, object]:
    """Publish electricity-meters under a preset on a copy of the database; the figures."""
    copy = folder / f"{preset}.db"
    shutil.copyfile(db, copy)
    ctx = Context(Settings(database_url=f"sqlite:///{copy}", demo=True, release_dir=folder / preset))
    upgrade(ctx.engine)
    with ctx.session(write=True) as session:
        set_policy(session, get_dataset(session, "electricity-meters"), {"preset": preset}, None)
    started = time.perf_counter()
    with ctx.session(write=True) as session:
        release = publish(session, ctx.settings, get_dataset(session, "electricity-meters"), None).release
        figures = {
            "seconds": round(time.perf_counter() - started, 2),
            "status": release.status,
            "rows": release.rows,
            "secret": release.report.get("secret"),
            "suppressed": release.report.get("suppressed"),
        }
    # The next version is checked against the first, contributor by contributor (differencing control).
    started = time.perf_counter()
    with ctx.session(write=True) as session:
        again = publish(session, ctx.settings, get_dataset(session, "electricity-meters"), None).release
        figures["v2_against_v1"] = {
            "seconds": round(time.perf_counter() - started, 2),
            "status": again.status,
            "secret": again.report.get("secret"),
            "suppressed_differencing": (again.report.get("suppressed") or {}).get("differencing"),
        }
    ctx.engine.dispose()
    return figures


def main() -> None:
    """Parse options, publish each preset, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a demo data directory to reuse")
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        folder = Path(tmp)
        if args.data_dir:
            db = args.data_dir / "territoria.db"
        else:
            print(f"simulating {args.assets} assets × {args.days} days…", file=sys.stderr)
            db = _simulate(folder, args.assets, args.days)
        results = {}
        for preset in PRESETS:
            print(f"publishing under {preset}…", file=sys.stderr)
            results[preset] = _publish_once(db, preset, folder)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"bench": "publish", "database": str(db.name), **results, "peak_rss_mb": round(peak_mb)})
    )


if __name__ == "__main__":
    main()
