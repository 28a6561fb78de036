"""The audit: one append-only table of who read or changed which patient's record.

Writes are recorded by database triggers on PostgreSQL (audit/triggers.py), by model
signals on SQLite; reads, sign-ins and exports by the application (audit/services.py).
On PostgreSQL a trigger refuses UPDATE and DELETE of an entry (migration 0002).
"""

from django.db import models


class AuditAction(models.TextChoices):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    READ = "read"
    LOGIN = "login"
    LOGIN_FAILED = "login-failed"
    LOGOUT = "logout"
    EXPORT = "export"


class Via(models.TextChoices):
    API = "api"
    PAGE = "page"
    ADMIN = "admin"
    IMPORT = "import"
    SYSTEM = "system"


class AuditEntry(models.Model):
    """One event. `user_id` is no foreign key: an entry outlives the account it names."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    record_type = models.CharField(max_length=100, blank=True)
    record_id = models.CharField(max_length=64, blank=True)
    patients = models.JSONField(default=list, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    via = models.CharField(max_length=8, choices=Via.choices)
    request_id = models.CharField(max_length=64, blank=True)
    remote_addr = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("id",)
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["action", "at"], name="audit_action_at")]

    def __str__(self) -> str:
        who = self.username or "system"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.record_type}"
