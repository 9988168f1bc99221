"""The response cache's rules, header by header (RFC 9111), without a store."""

from __future__ import annotations

import pytest

from gateway_project.response_cache import policy


def ttl(
    cache_control: str | None,
    *,
    status: int = 200,
    route: int = 30,
    auth: bool = False,
    **headers: str,
) -> int:
    sent = {key.replace("_", "-"): value for key, value in headers.items()}
    if cache_control is not None:
        sent["Cache-Control"] = cache_control
    return policy.response_ttl(status, sent, route_seconds=route, authorized=auth)


def test_cache_control_parses_directives_and_quoted_values():
    assert policy.cache_control('Public, MAX-AGE=60, no-cache="Set-Cookie", s-maxage = 5') == {
        "public": None,
        "max-age": "60",
        "no-cache": "Set-Cookie",
        "s-maxage": "5",
    }
    assert policy.cache_control(None) == {}


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        ("public, max-age=10", 10),
        ("max-age=60", 30),  # never past the route's lifetime
        ("public", 30),  # public without a lifetime: the route's
        ("public, max-age=60, s-maxage=5", 5),  # s-maxage is the shared cache's
        ("max-age=0", 0),
        ("private, max-age=60", 0),
        ("public, no-store", 0),
        ("public, no-cache", 0),
        ("max-age=ten", 0),
        (None, 0),
        ("", 0),
    ],
)
def test_only_answers_a_shared_cache_may_keep_are_stored(cache_control, expected):
    assert ttl(cache_control) == expected


def test_only_200_vary_star_and_cookies_and_age():
    assert ttl("public, max-age=10", status=404) == 0
    assert ttl("public, max-age=10", status=206) == 0
    assert ttl("public, max-age=10", Vary="Accept, *") == 0
    assert ttl("public, max-age=10", Set_Cookie="a=b") == 0
    assert ttl("public, max-age=10", Age="4") == 6
    assert ttl("public, max-age=10", Age="40") == 0
    assert ttl("public, max-age=10", route=0) == 0


@pytest.mark.parametrize(
    ("cache_control", "surrogate", "expected"),
    [
        ("public, no-cache", "max-age=30", 30),  # no-cache speaks to the caches past it
        ("public, no-cache", "max-age=10", 10),
        ("public, no-cache", "max-age=60", 30),  # still never past the route's lifetime
        ("public, max-age=5", "max-age=20", 20),  # the gateway's own word wins
        ("public, max-age=20", "no-store", 0),
        ("public, max-age=20", "max-age=0", 0),
        ("public, max-age=20", "", 20),  # nothing said to it: Cache-Control decides
        ("public, no-cache", "", 0),
        ("private, no-cache", "max-age=30", 0),  # one caller's answer is never stored
        ("no-store", "max-age=30", 0),
    ],
)
def test_surrogate_control_is_the_gateways_own_lifetime(cache_control, surrogate, expected):
    assert ttl(cache_control, Surrogate_Control=surrogate) == expected


def test_surrogate_control_still_needs_public_for_a_request_with_credentials():
    assert ttl("no-cache", Surrogate_Control="max-age=30", auth=True) == 0
    assert ttl("public, no-cache", Surrogate_Control="max-age=30", auth=True) == 30
    assert ttl("public, no-cache", Surrogate_Control="max-age=30", Age="10") == 20


@pytest.mark.parametrize(
    ("if_none_match", "etag", "matches"),
    [
        ('"abc"', '"abc"', True),
        ('"abc"', '"abd"', False),
        ('W/"abc"', '"abc"', True),  # weak comparison (RFC 9110 §8.8.3.2)
        ('"abc"', 'W/"abc"', True),
        ('W/"abc"', 'W/"abc"', True),
        ('"x", "abc"', '"abc"', True),
        ('"x" , W/"abc" ,', '"abc"', True),
        ('"x", , "abc"', '"abc"', True),  # empty list elements are allowed
        ('"a,b"', '"a,b"', True),  # a comma inside the opaque tag
        ('"x", "y"', '"abc"', False),
        ("*", '"abc"', True),  # any current representation
        (" * ", None, True),
        ('"abc"', None, False),  # no validator: nothing to match
        ("abc", '"abc"', False),  # not an entity-tag: no 304
        ('"abc", junk', '"abc"', False),
        ("", '"abc"', False),
        (None, '"abc"', False),
        ('"ABC"', '"abc"', False),  # opaque tags compare octet by octet
    ],
)
def test_if_none_match_by_the_weak_comparison_and_star(if_none_match, etag, matches):
    assert policy.none_match(if_none_match, etag) is matches


def test_an_answer_to_a_request_with_credentials_needs_public_or_s_maxage():
    assert ttl("max-age=10", auth=True) == 0
    assert ttl("public, max-age=10", auth=True) == 10
    assert ttl("s-maxage=10", auth=True) == 10


@pytest.mark.parametrize(
    ("method", "headers", "reason"),
    [
        ("GET", {}, None),
        ("HEAD", {}, None),
        ("POST", {}, "method"),
        ("PATCH", {}, "method"),
        ("GET", {"Cache-Control": "no-cache"}, "no-cache"),
        ("GET", {"Pragma": "no-cache"}, "no-cache"),
        ("GET", {"Cache-Control": "max-age=0, no-store"}, "no-store"),
        ("GET", {"Cache-Control": "max-age=0"}, None),
    ],
)
def test_requests_that_bypass_the_cache(method, headers, reason):
    assert policy.request_bypass_reason(method, headers) == reason


def test_vary_names_and_surrogate_keys_are_normalised():
    assert policy.vary_names("Accept-Encoding, accept ,ACCEPT") == ("accept", "accept-encoding")
    assert policy.vary_names(None) == ()
    assert policy.surrogate_keys("product-7  products bad/key ") == ["product-7", "products"]


def test_caller_roles_keep_staff_apart():
    class User:
        def __init__(self, authenticated: bool, staff: bool) -> None:
            self.is_authenticated, self.is_staff = authenticated, staff

    assert policy.caller_role(None) == "anon"
    assert policy.caller_role(User(False, False)) == "anon"
    assert policy.caller_role(User(True, False)) == "user"
    assert policy.caller_role(User(True, True)) == "staff"
    assert policy.base_key("anon", "/products/1", "") != policy.base_key("staff", "/products/1", "")
    assert policy.base_key("anon", "/products", "a=1") != policy.base_key("anon", "/products", "")


def test_variant_key_depends_on_the_named_headers_only():
    names = ("accept",)
    one = policy.variant_key(names, {"accept": "application/json", "x-other": "1"})
    assert one == policy.variant_key(names, {"accept": "application/json"})
    assert one != policy.variant_key(names, {"accept": "text/html"})
    assert one != policy.variant_key((), {"accept": "application/json"})
