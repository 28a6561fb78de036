"""Values every page needs in its header."""

from django.http import HttpRequest

from alerts.models import Notification


def notifications(request: HttpRequest) -> dict[str, int]:
    """The signed-in user's unread notifications (critical alerts they must act on)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notification_count": 0}
    count = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
    return {"unread_notification_count": count}
