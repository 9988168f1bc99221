"""The floor of a service read: a bare DRF RetrieveAPIView on the product model.

    DJANGO_SETTINGS_MODULE=scripts.floors.read PRODUCTS_DATABASE_URL=... \
        gunicorn -c common/runtime/gunicorn_conf.py scripts.floors.read:application

Settings, URLconf and WSGI application in one module. The product service's model and
serializer on its database (the same PRODUCTS_DATABASE_URL, or the SQLite file under
VAR_DIR), with no middleware, no authentication and no logging: what
`GET /products/{id}` costs before the service's own duties (request id, access log,
metrics, JWT verification, problem answers).
"""

from common.settings.env import database_for
from scripts.floors.base_settings import *  # noqa: F403 -- the bare base
from scripts.floors.base_settings import INSTALLED_APPS

ROOT_URLCONF = __name__
INSTALLED_APPS = [*INSTALLED_APPS, "product_service.catalog"]
DATABASES = {"default": database_for("products")}

# Settings are complete above this line: what follows may read them.
from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from django.urls import path  # noqa: E402
from rest_framework.generics import RetrieveAPIView  # noqa: E402

from product_service.catalog.models import Product  # noqa: E402
from product_service.catalog.serializers import ProductSerializer  # noqa: E402


class ProductFloorView(RetrieveAPIView):
    queryset = Product.objects.filter(is_active=True)
    serializer_class = ProductSerializer


urlpatterns = [path("products/<int:pk>", ProductFloorView.as_view())]
