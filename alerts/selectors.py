"""The reads behind the alert feed."""

from django.db.models import QuerySet

from .models import Alert


def alert_feed() -> QuerySet[Alert]:
    """Every alert, the most recently changed last (feed order)."""
    return Alert.objects.select_related("acknowledged_by", "resolved_by").order_by("feed_seq")
