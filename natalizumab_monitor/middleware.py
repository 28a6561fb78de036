"""A styled page for a 405 (Django has no handler405): a page address opened the wrong way."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# Machine clients get the framework's own answer; only browser pages get the clinic's layout.
MACHINE_PREFIXES = ("/api/", "/fhir/")


class MethodNotAllowedPageMiddleware:
    """Renders templates/405.html for a page's 405 (e.g. GET on a require_POST action)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or request.path.startswith(MACHINE_PREFIXES):
            return response
        page = render(request, "405.html", status=405)
        if "Allow" in response:
            page["Allow"] = response["Allow"]
        return page
