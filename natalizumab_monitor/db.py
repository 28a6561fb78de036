"""Building blocks shared by every app's models."""

import uuid

from django.db import models


class RecordModel(models.Model):
    """A clinical record: a UUID as its public id, and when it was written."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
