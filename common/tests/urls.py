"""Views that exercise the shared mechanism: auth, errors, trailing slashes."""

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_POST
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import APIException
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from common.identity.auth import IsStaff
from common.urls import *  # noqa: F403 -- the JSON error handlers
from common.urls import ops_urlpatterns


class ItemSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=10)
    price = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0)


class OutOfStock(APIException):
    status_code = 409
    default_detail = "Not enough stock."
    problem_type = "insufficient-stock"


@api_view(["GET"])
@permission_classes([IsAuthenticated])
def whoami(request):
    user = request.user
    return Response({"id": user.id, "username": user.username, "is_staff": user.is_staff})


@api_view(["GET"])
@permission_classes([IsStaff])
def staff_only(request):
    return Response({"ok": True})


@api_view(["POST"])
@permission_classes([AllowAny])
def items(request):
    serializer = ItemSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return Response(serializer.validated_data, status=201)


@api_view(["POST"])
@permission_classes([AllowAny])
def conflict(request):
    exc = OutOfStock()
    exc.problem_extra = {"items": [{"product_id": 7}]}
    raise exc


def _middleware_seen(request) -> dict:
    """What the page middleware leaves on a request: a session, Django's auth, messages."""
    django_request = request._request
    return {
        "session": hasattr(django_request, "session"),
        "messages": hasattr(django_request, "_messages"),
        "django_auth": hasattr(django_request, "auser"),
    }


@api_view(["GET"])
@permission_classes([AllowAny])
def api_seen(request):
    return Response(_middleware_seen(request))


@api_view(["GET"])
@authentication_classes([SessionAuthentication])
@permission_classes([AllowAny])
def session_seen(request):
    return Response(_middleware_seen(request))


@api_view(["GET"])
@permission_classes([AllowAny])
def api_boom(request):
    raise RuntimeError("an unexpected failure in an API view")


def boom(request):
    raise RuntimeError("an unexpected failure")


@require_POST
def plain_post(request):
    return HttpResponse("done")


def html_error(request):
    return HttpResponse("<h1>Gone</h1>", status=410)


def echo_path(request):
    return JsonResponse(
        {"path": request.path, "method": request.method, "body": request.body.decode()}
    )


urlpatterns = [
    *ops_urlpatterns(liveness="health/live"),
    path("whoami", whoami),
    path("staff", staff_only),
    path("items", items),
    path("conflict", conflict),
    path("boom", boom),
    path("api-seen", api_seen),
    path("session-seen", session_seen),
    path("api-boom", api_boom),
    path("plain-post", plain_post),
    path("html-error", html_error),
    path("echo", echo_path),
]
