"""Thin views over services.py; every rule lives there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from http import HTTPStatus
from typing import TYPE_CHECKING, cast

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from common.http.schema import request_example
from common.identity.auth import ServiceTokenRequired
from common.identity.jwt import token_backend
from user_service.accounts import services
from user_service.accounts.authentication import AccountJWTAuthentication
from user_service.accounts.serializers import (
    AccountStatusSerializer,
    CredentialsSerializer,
    PasswordChangeSerializer,
    ProfileUpdateSerializer,
    RefreshSerializer,
    RegisterSerializer,
    SignOnSerializer,
    SignOutSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from user_service.accounts.throttles import LoginRateThrottle

if TYPE_CHECKING:
    from rest_framework.permissions import _PermissionClass

    from user_service.accounts.models import User

# Examples Swagger UI's "Try it out" sends as they are: register, then log in with them.
DEMO_USERNAME, DEMO_PASSWORD = "ada", "Analytical-Engine-1843"
DEMO_CREDENTIALS = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
DEMO_SIGN_ON_JTI = "5f0c2a7e9b1d4c3a8e6f7a2b1c0d9e8f"
# The shape of a refresh token (a real one comes from POST /users/login).
REFRESH_SHAPE = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"


class PublicView(GenericAPIView):
    """Open to anyone, and a stale Authorization header does not get in the way."""

    authentication_classes: Sequence[type[BaseAuthentication]] = ()
    permission_classes: Sequence[_PermissionClass] = (AllowAny,)

    def get_authenticate_header(self, request: Request) -> str:
        # 401, not 403, for bad credentials and tokens: DRF needs a challenge to send.
        return 'Bearer realm="api"'

    def validated(self, request: Request) -> dict:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class AccountView(GenericAPIView):
    authentication_classes = (AccountJWTAuthentication,)
    permission_classes = (IsAuthenticated,)


class RegisterView(PublicView):
    serializer_class = RegisterSerializer

    @extend_schema(
        summary="Create an account",
        responses={HTTPStatus.CREATED: UserSerializer},
        examples=[request_example("A new user", {**DEMO_CREDENTIALS, "email": "ada@example.com"})],
    )
    def post(self, request: Request) -> Response:
        user = services.user_register(**self.validated(request))
        return Response(UserSerializer(user).data, status=HTTPStatus.CREATED)


class LoginView(PublicView):
    serializer_class = CredentialsSerializer
    throttle_classes = (LoginRateThrottle,)

    @extend_schema(
        summary="Log in: an access token and a refresh token",
        responses={HTTPStatus.OK: TokenPairSerializer},
        examples=[request_example("The registered user", DEMO_CREDENTIALS)],
    )
    def post(self, request: Request) -> Response:
        pair = services.user_login(request=request._request, **self.validated(request))
        return Response(asdict(pair))


class TokenRefreshView(PublicView):
    serializer_class = RefreshSerializer

    @extend_schema(
        summary="Trade a refresh token for a new pair (the old one is spent)",
        responses={HTTPStatus.OK: TokenPairSerializer},
        examples=[request_example("A refresh token from login", {"refresh": REFRESH_SHAPE})],
    )
    def post(self, request: Request) -> Response:
        return Response(asdict(services.token_refresh(**self.validated(request))))


class LogoutView(PublicView):
    """The refresh token itself is the credential: whoever holds it may spend it."""

    serializer_class = RefreshSerializer

    @extend_schema(
        summary="Log out: the refresh token and your access tokens stop working",
        responses={HTTPStatus.NO_CONTENT: None},
        examples=[request_example("A refresh token from login", {"refresh": REFRESH_SHAPE})],
    )
    def post(self, request: Request) -> Response:
        services.token_revoke(**self.validated(request))
        return Response(status=HTTPStatus.NO_CONTENT)


class PasswordView(AccountView):
    serializer_class = PasswordChangeSerializer

    @extend_schema(
        summary="Change your password (every token of yours stops working)",
        responses={HTTPStatus.NO_CONTENT: None},
        examples=[
            request_example(
                "A new password",
                {"old_password": DEMO_PASSWORD, "new_password": "Difference-Engine-1822"},
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = cast("User", request.user)  # IsAuthenticated
        services.user_password_change(user=user, **serializer.validated_data)
        return Response(status=HTTPStatus.NO_CONTENT)


class ProfileView(AccountView):
    serializer_class = UserSerializer

    @extend_schema(summary="Your profile")
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        summary="Change your email or name",
        request=ProfileUpdateSerializer,
        responses={HTTPStatus.OK: UserSerializer},
        examples=[
            request_example(
                "Email and name",
                {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
            )
        ],
    )
    def patch(self, request: Request) -> Response:
        serializer = ProfileUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_profile_update(
            user=cast("User", request.user),  # IsAuthenticated
            **serializer.validated_data,
        )
        return Response(UserSerializer(user).data)


class JwksView(PublicView):
    """RFC 7517 key set: verifiers fetch it once and verify offline; rotation adds a kid."""

    @extend_schema(
        summary="The public keys that verify access tokens (JWKS)",
        responses={HTTPStatus.OK: dict},
    )
    def get(self, request: Request) -> Response:
        response = Response(token_backend().ring.jwks())
        response["Cache-Control"] = "public, max-age=300"
        return response


class InternalAuthenticateView(ServiceTokenRequired, PublicView):
    """For the other projects' admin login (common.identity.sso): credentials in, the admins'
    sign-on credential out (common.identity.jwt.AdminSignOnToken, not an API token); the caller
    verifies it offline.
    """

    serializer_class = CredentialsSerializer
    throttle_classes = (LoginRateThrottle,)

    @extend_schema(
        summary="Check an admin's credentials; the admins' sign-on (services only)",
        responses={HTTPStatus.OK: SignOnSerializer},
        examples=[request_example("A staff account", DEMO_CREDENTIALS)],
    )
    def post(self, request: Request) -> Response:
        user = services.user_authenticate(request=request._request, **self.validated(request))
        return Response({"sign_on": services.admin_sign_on_issue(user=user)})


class InternalStatusView(ServiceTokenRequired, PublicView):
    """For common.identity.sso's re-check: whether a signed-in admin still is active staff at the
    credential version it signed in with, and whether its sign-on was signed out."""

    serializer_class = AccountStatusSerializer
    parameter_examples = {"username": DEMO_USERNAME, "sign_on": DEMO_SIGN_ON_JTI}

    @extend_schema(
        summary="Whether a signed-in admin still is active staff (services only)",
        parameters=[
            OpenApiParameter("username", str, required=True),
            OpenApiParameter("sign_on", str, description="the sign-on credential's jti"),
        ],
        responses={HTTPStatus.OK: AccountStatusSerializer},
    )
    def get(self, request: Request) -> Response:
        status = services.admin_sign_on_status(
            username=request.query_params.get("username", ""),
            jti=request.query_params.get("sign_on", ""),
        )
        if status is None:
            raise NotFound()
        return Response(AccountStatusSerializer(status).data)


class InternalSignOutView(ServiceTokenRequired, PublicView):
    """For common.identity.sso's single logout: the sign-on is spent at every admin."""

    serializer_class = SignOutSerializer

    @extend_schema(
        summary="Spend an admin's sign-on at every admin (services only)",
        responses={HTTPStatus.NO_CONTENT: None},
        examples=[
            request_example("A sign-on", {"username": DEMO_USERNAME, "sign_on": DEMO_SIGN_ON_JTI})
        ],
    )
    def post(self, request: Request) -> Response:
        body = self.validated(request)
        services.admin_sign_on_spend(username=body["username"], jti=body["sign_on"])
        return Response(status=HTTPStatus.NO_CONTENT)
