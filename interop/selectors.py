"""The reads behind the laboratory interface's endpoints and pages."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import CsvImport, InboundMessage, InboxStatus, LabInboxEntry


def messages_sent_by(user: AbstractBaseUser) -> QuerySet[InboundMessage]:
    """What this account sent, with the ACK each got: the laboratory reads only its own."""
    return InboundMessage.objects.filter(sender=user).order_by("received_at")


def inbox(*, waiting_only: bool = False) -> QuerySet[LabInboxEntry]:
    entries = LabInboxEntry.objects.select_related(
        "decided_by", "lab_result", "antibody_test", "message"
    )
    if waiting_only:
        entries = entries.filter(status=InboxStatus.WAITING)
    return entries.order_by("created_at")


def csv_import(import_id: object) -> CsvImport:
    return CsvImport.objects.get(pk=import_id)
