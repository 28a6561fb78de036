"""Celery tasks of the laboratory interface: they carry ids only."""

import logging
from typing import Any

from celery import shared_task

from audit.context import Actor, acting
from audit.models import Via

from . import csv_import
from .models import CsvImport, ImportStatus

logger = logging.getLogger(__name__)


@shared_task(name="interop.tasks.import_csv")
def import_csv(import_id: str) -> dict[str, Any]:
    """Import an uploaded CSV of results. Safe to run twice: rows are filed once by key."""
    upload = CsvImport.objects.select_related("uploaded_by").get(pk=import_id)
    if upload.status == ImportStatus.DONE:
        return {"import": import_id, "status": upload.status}
    with acting(Actor(via=Via.IMPORT, user=upload.uploaded_by)):
        done = csv_import.run_import(upload)
    logger.info("CSV import %s: %s rows, %s filed", import_id, done.rows_total, done.rows_filed)
    return {"import": import_id, "status": done.status, "rows": done.rows_total}
