from django.urls import path

from gateway_project.portal import views

urlpatterns = [
    path("gateway/consumers", views.ConsumerListView.as_view(), name="consumers"),
    path(
        "gateway/consumers/<int:consumer_id>",
        views.ConsumerDetailView.as_view(),
        name="consumer",
    ),
    path(
        "gateway/consumers/<int:consumer_id>/keys",
        views.KeyListView.as_view(),
        name="consumer-keys",
    ),
    path(
        "gateway/consumers/<int:consumer_id>/usage",
        views.UsageView.as_view(),
        name="consumer-usage",
    ),
    path(
        "gateway/consumers/<int:consumer_id>/keys/<int:key_id>/revoke",
        views.KeyRevokeView.as_view(),
        name="consumer-key-revoke",
    ),
]
