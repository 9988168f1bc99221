"""The user service's settings: the shared base plus the account model, the refresh-token
blacklist and the signing key."""

from common.settings.base import *  # noqa: F403 -- the shared base
from common.settings.base import (
    common_namespace,
    logging_config,
    openapi_settings,
    secret_key,
    static_root,
)
from common.settings.env import cache_for, database_for, env, jwt_private_key

SERVICE_NAME = "users"
SECRET_KEY = secret_key(SERVICE_NAME)
DATABASES = {"default": database_for(SERVICE_NAME)}
CACHES = {"default": cache_for(SERVICE_NAME)}
# Per project, so the gateway can route /static/<name>/ to each service's admin.
STATIC_ROOT = static_root(SERVICE_NAME)
STATIC_URL = f"/static/{SERVICE_NAME}/"
SESSION_COOKIE_NAME = f"{SERVICE_NAME}_sessionid"
CSRF_COOKIE_NAME = f"{SERVICE_NAME}_csrftoken"
COMMON = common_namespace(SERVICE_NAME)
SPECTACULAR_SETTINGS = openapi_settings(SERVICE_NAME)
LOGGING = logging_config(SERVICE_NAME)
WSGI_APPLICATION = "user_service.wsgi.application"
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
COMMON = {**COMMON, "JWT_PRIVATE_KEY": jwt_private_key()}
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
