"""One middleware for the audit of a request: who acts (for the write triggers), and one
entry naming every patient the response showed."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit import context, reads, services


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not context.enabled():
            return self.get_response(request)
        actor = context.for_request(request)
        with context.acting(actor), reads.collecting() as shown:
            response = self.get_response(request)
            # Only a success shows a record (a redirect, a refusal or an error shows none).
            if shown and 200 <= response.status_code < 300:
                match = request.resolver_match
                services.record_read(
                    patients=shown,
                    record_type=match.view_name if match else request.path[:100],
                    actor=actor,
                )
        response["X-Request-ID"] = actor.request_id
        return response
