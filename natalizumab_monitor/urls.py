from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import accounts, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", accounts.SignInView.as_view(), name="login"),
    path("accounts/logout/", accounts.sign_out, name="logout"),
    path("accounts/two-factor/", accounts.verify, name="two-factor-verify"),
    path("accounts/two-factor/setup/", accounts.setup, name="two-factor-setup"),
    path("accounts/session/keepalive/", accounts.keepalive, name="session-keepalive"),
    path("accounts/password/", accounts.PasswordChange.as_view(), name="password-change"),
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
    path("", include("infusions.urls")),
    path("", include("patients.urls")),
    path("", include("labs.urls")),
    path("", include("alerts.urls")),
    path("", include("audit.urls")),
    path("", include("interop.urls")),
    path("", include("interop.fhir.urls")),
    path("", include("network.urls")),
    path("api/v1/", include("natalizumab_monitor.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script for the CSP.
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/docs.html"),
        name="api-docs",
    ),
]
