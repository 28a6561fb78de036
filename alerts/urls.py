"""Alert actions of the clinic pages (the REST feed is in api_urls)."""

from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("alerts/<uuid:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("alerts/<uuid:alert_id>/resolve/", views.resolve, name="resolve"),
    path("notifications/", views.notifications, name="notifications"),
    path(
        "notifications/<uuid:notification_id>/read/",
        views.notification_read,
        name="notification_read",
    ),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
]
