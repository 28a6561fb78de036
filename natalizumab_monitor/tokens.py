"""API tokens: revoking the one in use (`POST /api/v1/auth/logout/`).

Tokens are knox's: stored as hashes, expiring after API_TOKEN_TTL_DAYS (default 90).
`manage.py revoketoken NAME` revokes every token of a user.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .api import errors
from .rest import TokenAuthentication


class LogoutResultSerializer(serializers.Serializer):
    detail = serializers.CharField()


class LogoutView(KnoxLogoutView):
    # Only a token signs out here; a browser session signs out at /accounts/logout/.
    authentication_classes = (TokenAuthentication,)

    @extend_schema(
        summary="Revoke the token of this request (sign out); it is refused from then on",
        request=None,
        responses={200: LogoutResultSerializer, **errors(401, 403)},
    )
    def post(self, request: Request, format: str | None = None) -> Response:
        if not isinstance(request.auth, AuthToken):
            return Response({"detail": "No token was in use: nothing to revoke."})
        request.auth.delete()
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response({"detail": "The token is revoked."})


def revoke_tokens(username: str) -> int:
    """Revoke every token of the user; how many there were. DoesNotExist if no such user."""
    user = get_user_model().objects.get(username=username)
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted
