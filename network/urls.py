from django.urls import path

from . import views

app_name = "network"

urlpatterns = [path("site/", views.switch_site, name="switch-site")]
