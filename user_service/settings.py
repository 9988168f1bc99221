"""The user service's settings: the shared base plus the account model, the refresh-token
blacklist and the signing key."""

from common.settings.base import *  # noqa: F403 -- the shared base
from common.settings.base import service_settings
from common.settings.env import env, jwt_private_key

globals().update(service_settings("users"))
ROOT_URLCONF = "user_service.urls"
# Accounts first: its createsuperuser (with --email) is found before django.contrib.auth's.
INSTALLED_APPS = [
    "user_service.accounts",
    *INSTALLED_APPS,  # noqa: F405
    "rest_framework_simplejwt.token_blacklist",
]
AUTH_USER_MODEL = "accounts.User"
# The admin's own login counts against the same per-username limit as POST /users/login.
AUTHENTICATION_BACKENDS = ["user_service.accounts.backends.ThrottledModelBackend"]
# An admin sign-in here leaves a sign-on credential for the other admins, and every
# admin's sessions are re-checked against these rules (common.identity.sso).
ADMIN_SSO_ACCOUNTS = "user_service.accounts.services"

# The only signer: common.identity.jwt.token_backend() signs with this key and publishes its kid.
COMMON = {**COMMON, "JWT_PRIVATE_KEY": jwt_private_key()}  # noqa: F405
SIMPLE_JWT = {
    **SIMPLE_JWT,  # noqa: F405
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}
# Login attempts per (username, client IP), and per username from any address.
USERS_RATE_LOGIN = env.str("USERS_RATE_LOGIN", default="10/min")
USERS_RATE_LOGIN_USER = env.str("USERS_RATE_LOGIN_USER", default="100/h")
# POST /users/password attempts per user (each may be a guess of the old password).
USERS_RATE_PASSWORD_CHANGE = env.str("USERS_RATE_PASSWORD_CHANGE", default="5/15m")
