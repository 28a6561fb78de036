"""The site switcher: the nurse's and pharmacist's pages work one site at a time."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import selectors
from .forms import SiteChoiceForm


@require_POST
@login_required
def switch_site(request: HttpRequest) -> HttpResponse:
    form = SiteChoiceForm(request.POST, sites=selectors.sites_for(request.user))
    if form.is_valid():
        site = form.cleaned_data["site"]
        request.session[selectors.SESSION_KEY] = site.pk
        messages.success(request, f"You are working at {site.name}.")
    else:
        messages.error(request, "That is not one of your sites.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = "home"
    return redirect(back)
