from django.apps import AppConfig


class NatalizumabMonitorConfig(AppConfig):
    name = "natalizumab_monitor"
    verbose_name = "Natalizumab monitor"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed

        from natalizumab_monitor.roles import forget_role

        # A user object remembers its role: a change of its groups makes it forget.
        m2m_changed.connect(
            forget_role,
            sender=get_user_model().groups.through,
            dispatch_uid="roles-forget-role",
        )
