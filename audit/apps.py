from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Writes (database triggers, or model signals on SQLite), reads, sign-ins and tasks.
        from audit import signals

        signals.connect()
