from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every write of a clinical record, from any path, queues an evaluation.
        from alerts import signals

        signals.connect()
