from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication

from common.auth import StatelessJWTAuthentication


class AccountJWTAuthentication(StatelessJWTAuthentication):
    """The access token verified as everywhere, then the account it names must exist and be
    active: for the user service's own endpoints, which act on the account in the database.
    """

    get_user = JWTAuthentication.get_user
