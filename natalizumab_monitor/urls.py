from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
    path("", include("infusions.urls")),
    path("", include("patients.urls")),
    path("", include("labs.urls")),
    path("", include("alerts.urls")),
    path("", include("audit.urls")),
    path("", include("interop.urls")),
    path("", include("interop.fhir.urls")),
    path("api/v1/", include("natalizumab_monitor.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
