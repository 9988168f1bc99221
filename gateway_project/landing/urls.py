"""`/` and `/favicon.ico`."""

from django.urls import path

from gateway_project.landing import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("favicon.ico", views.favicon, name="favicon"),
]
