"""The delay scan job: raise the alerts owed now, in batches, each batch one transaction."""

from __future__ import annotations

import logging

from hub.alerts.scan import ScanReport, scan_batch
from hub.core.runtime import Runtime

log = logging.getLogger(__name__)
BATCH = 2000


def run_delay_scan(runtime: Runtime, *, batch: int = BATCH) -> ScanReport:
    """Scan until no return owes an alert at this moment; logs one line."""
    now = runtime.now()
    report = ScanReport()
    while True:
        before = report.checked
        with runtime.unit_of_work() as session:
            scan_batch(session, runtime.workflow, now, limit=batch, report=report)
        if report.checked - before < batch:
            break
    log.info("delay scan: %s", report)
    return report
