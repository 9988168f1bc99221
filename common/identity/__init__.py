"""Who is calling: JWTs and JWKs, user and service authentication, the admins' sign-on,
revocation, and the calls between services that carry a service's identity.
"""
