import factory

from products.models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"tool-{n}")
    name = factory.Sequence(lambda n: f"Tool {n}")
    family = Product.Family.KESS
    role = Product.Role.MASTER
    has_serial_number = True
    latest_version = "3.200"


class DatabankFactory(ProductFactory):
    code = "databank-test"
    name = "Databank"
    family = Product.Family.DATABANK
    role = Product.Role.NONE
    has_serial_number = False
    latest_version = ""
