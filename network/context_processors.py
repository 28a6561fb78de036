"""The site in every page's header, and the switcher for a user of several sites."""

from typing import Any

from django.http import HttpRequest

from . import selectors


def sites(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    mine = selectors.my_sites(request)
    return {
        "current_site": selectors.current_site(request),
        "my_sites": mine,
        # A one-site installation shows no site at all, as before sites.
        "show_site": len(mine) > 1 or selectors.site_count(request) > 1,
    }
