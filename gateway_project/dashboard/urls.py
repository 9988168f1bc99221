"""The dashboard page and the JSON it polls."""

from django.urls import path

from gateway_project.dashboard import views

urlpatterns = [
    path("dashboard", views.dashboard, name="dashboard"),
    path("dashboard/data", views.dashboard_data, name="dashboard-data"),
]
