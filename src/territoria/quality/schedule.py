"""The scheduled quality pass of long-running processes: series and asset rules, then scores."""

from __future__ import annotations

import logging
import threading

from territoria.context import Context
from territoria.quality.scores import refresh_scores
from territoria.quality.series import run_quality

log = logging.getLogger(__name__)


def quality_pass(ctx: Context, *, full: bool = False, score_days: int = 2) -> None:
    """Run the rules on new data (incrementally) and refresh the recent daily scores."""
    report = run_quality(ctx, full=full)
    with ctx.session(write=True) as session:
        refresh_scores(session, days=score_days)
    log.info("quality pass: %d finding(s) in %.1f s", report.total, report.seconds)


class QualitySchedule(threading.Thread):
    """Runs `quality_pass` every `period` seconds until stopped; a failed pass is logged and retried."""

    def __init__(self, ctx: Context, period: float) -> None:
        super().__init__(name="territoria-quality", daemon=True)
        self.ctx, self.period = ctx, period
        self.stop_event = threading.Event()

    def run(self) -> None:
        """Loop until stopped."""
        while not self.stop_event.wait(self.period):
            try:
                quality_pass(self.ctx)
            except Exception:  # the schedule must survive a busy or restarting database
                log.exception("scheduled quality pass failed; retrying at the next period")
