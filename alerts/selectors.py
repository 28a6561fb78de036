"""The reads behind the alert feed."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Alert, Notification


def alert_feed() -> QuerySet[Alert]:
    """Every alert, the most recently changed last (feed order)."""
    return Alert.objects.select_related("acknowledged_by", "resolved_by").order_by("feed_seq")


def notifications_of(user: AbstractBaseUser) -> QuerySet[Notification]:
    """The user's notifications, newest first, with the alert and patient they are about."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("alert__patient")
        .order_by("-created_at", "-pk")
    )
