"""The project's URLs plus one page that fails, to see the 500 page a user would get."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from natalizumab_monitor.urls import urlpatterns as project_urlpatterns


def broken_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a fault in the page")


urlpatterns = [path("broken/", broken_page), *project_urlpatterns]
