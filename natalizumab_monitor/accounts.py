"""Sign-in fit for health data: password, then a second factor (TOTP) for the roles that need
it, sessions that end when a shared tablet is left alone, and a page to change a password.

Lockout after repeated failures is django-axes (its backend and middleware, in settings); the
second factor is django-otp (TOTP devices, and static devices for one-time recovery codes).
"""

import secrets
import time
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .roles import API_CLIENT, INTERFACE, role_of

# Accounts of systems: they use the API with a token, never the pages.
MACHINE_ROLES = (API_CLIENT, INTERFACE)

SIGNED_IN_AT = "signed-in-at"
LAST_ACTIVITY = "last-activity"
# When this session last found that its user has no second factor (a nurse who never
# enrolled): looked up again at most this often, not at every request. A device enrolled
# from another session or by an administrator is asked for within that time.
NO_DEVICE_CHECKED_AT = "no-second-factor-checked-at"
DEVICE_RECHECK_SECONDS = 300
RECOVERY_CODES = 10

# Why a session ended, as the login page says it.
SIGNED_OUT = {
    "idle": "You were signed out after {idle} minutes without activity. Sign in again.",
    "shift": "Your session reached its {shift}-hour limit. Sign in again.",
    "user": "You are signed out.",
}


def needs_second_factor(user: AbstractBaseUser | AnonymousUser) -> bool:
    """TOTP is required for the roles in MFA_REQUIRED_ROLES and every admin user, and for
    anyone who chose to enrol."""
    if not user.is_authenticated:
        return False
    return (
        user.is_staff  # type: ignore[union-attr]
        or role_of(user) in settings.MFA_REQUIRED_ROLES
        or user_has_device(user)
    )


def session_needs_second_factor(request: HttpRequest) -> bool:
    """`needs_second_factor` for the request's user, with a user's lack of any device
    remembered in the session for DEVICE_RECHECK_SECONDS (two queries saved a request)."""
    user = request.user
    if not user.is_authenticated:
        return False
    if user.is_staff or role_of(user) in settings.MFA_REQUIRED_ROLES:  # type: ignore[union-attr]
        return True
    session = request.session
    checked_at = session.get(NO_DEVICE_CHECKED_AT)
    now = time.time()
    if checked_at is not None and 0 <= now - checked_at < DEVICE_RECHECK_SECONDS:
        return False
    if user_has_device(user):
        session.pop(NO_DEVICE_CHECKED_AT, None)
        return True
    session[NO_DEVICE_CHECKED_AT] = now
    return False


@receiver(user_logged_in, dispatch_uid="accounts.start_session_clock")
def start_session_clock(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_ACTIVITY] = now


# --- Sign in ---------------------------------------------------------------------------------


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password did not match.",
        "api_only": "This account is for a system using the API; it cannot sign in to pages.",
    }

    def confirm_login_allowed(self, user: AbstractBaseUser) -> None:
        super().confirm_login_allowed(user)
        if role_of(user) in MACHINE_ROLES:
            raise forms.ValidationError(self.error_messages["api_only"], code="api_only")


class SignInView(LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        reason = self.request.GET.get("signed_out", "")
        if reason in SIGNED_OUT:
            context["signed_out"] = SIGNED_OUT[reason].format(
                idle=settings.SESSION_IDLE_MINUTES, shift=settings.SESSION_MAX_HOURS
            )
        return context


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Log out (a button, or the idle timer on the page), and say why on the login page."""
    reason = request.POST.get("reason", "user")
    logout(request)
    return redirect(_login_with_reason(reason if reason in SIGNED_OUT else "user"))


def _login_with_reason(reason: str) -> str:
    return f"{reverse('login')}?signed_out={reason}"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


# --- Second factor ---------------------------------------------------------------------------


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
        help_text="The 6-digit code of your authenticator app, or one of your recovery codes.",
    )


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a TOTP code (or a one-time recovery code)."""
    if not user_has_device(request.user):
        return redirect(f"{reverse('two-factor-setup')}?next={_next_url(request)}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"].replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", "That code is not valid. Try the current code of your app.")
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": _next_url(request)},
        status=400 if form.errors else 200,
    )


def _pending_device(user: AbstractBaseUser) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app by QR code; once a code confirms it, show recovery codes."""
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        if not getattr(request.user, "is_verified", lambda: False)():
            return redirect(f"{reverse('two-factor-verify')}?next={_next_url(request)}")
        return render(request, "registration/two_factor_setup.html", {"enrolled": True})
    device = _pending_device(request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].replace(" ", "")):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            codes = _new_recovery_codes(request.user)
            return render(
                request,
                "registration/two_factor_setup.html",
                {"codes": codes, "next": _next_url(request)},
            )
        form.add_error("token", "That code is not valid. Scan the code again and retry.")
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": qr.svg_inline(scale=5, title="QR code for your authenticator app"),
            "secret": _base32(device.bin_key),
            "next": _next_url(request),
        },
        status=400 if form.errors else 200,
    )


def _base32(key: bytes) -> str:
    from base64 import b32encode

    text = b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _new_recovery_codes(user: AbstractBaseUser) -> list[str]:
    """Ten one-time recovery codes, replacing any earlier ones; shown once, stored by django-otp."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Recovery codes")
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    device.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


# --- Session and password --------------------------------------------------------------------


@require_POST
@login_required
def keepalive(request: HttpRequest) -> JsonResponse:
    """The "stay signed in" button: the idle clock starts again."""
    request.session[LAST_ACTIVITY] = time.time()
    return JsonResponse({"idle_seconds": settings.SESSION_IDLE_MINUTES * 60})


class PasswordChange(PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is changed.")
        return response
