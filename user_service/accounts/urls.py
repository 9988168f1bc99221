"""The accounts API and the internal endpoints the other projects' admins call."""

from django.urls import path

from user_service.accounts import views

urlpatterns = [
    path("users/register", views.RegisterView.as_view(), name="user-register"),
    path("users/login", views.LoginView.as_view(), name="user-login"),
    path("users/token/refresh", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("users/logout", views.LogoutView.as_view(), name="user-logout"),
    path("users/password", views.PasswordView.as_view(), name="user-password"),
    path("users/profile", views.ProfileView.as_view(), name="user-profile"),
    path("users/.well-known/jwks.json", views.JwksView.as_view(), name="jwks"),
    path(
        "internal/users/authenticate",
        views.InternalAuthenticateView.as_view(),
        name="internal-user-authenticate",
    ),
    path("internal/users/status", views.InternalStatusView.as_view(), name="internal-user-status"),
    path(
        "internal/users/status/sign-out",
        views.InternalSignOutView.as_view(),
        name="internal-user-sign-out",
    ),
]
