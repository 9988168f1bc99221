from django.apps import AppConfig


class ConsumersConfig(AppConfig):
    name = "gateway_project.consumers"
    verbose_name = "Consumers and API keys"
    default_auto_field = "django.db.models.BigAutoField"
