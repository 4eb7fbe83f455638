from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core.roles import MANAGERS, OPERATORS


class ProductsConfig(AppConfig):
    name = "products"
    verbose_name = _("Products")

    roles = {
        OPERATORS: (("product", ("view",)),),
        MANAGERS: (("product", ("add", "change")),),
    }
