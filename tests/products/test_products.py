import pytest

from products.models import Product, version_key
from products.selectors import product_list_active
from products.services import product_update_latest_version
from tests.products.factories import ProductFactory


@pytest.mark.django_db
def test_the_seven_supported_products_ship_as_initial_data():
    products = {p.code: p for p in Product.objects.filter(code__in=SEEDED)}
    assert [products[code].name for code in SEEDED] == [
        "KESSv2 Master",
        "KESSv2 Slave",
        "K-TAG Master",
        "K-TAG Slave",
        "ECM Titanium",
        "Powergate3+",
        "Databank",
    ]
    assert [code for code, p in products.items() if not p.has_serial_number] == ["databank"]
    assert products["kessv2-master"].role == Product.Role.MASTER
    assert products["ktag-slave"].role == Product.Role.SLAVE


SEEDED = [
    "kessv2-master",
    "kessv2-slave",
    "ktag-master",
    "ktag-slave",
    "ecm-titanium",
    "powergate3-plus",
    "databank",
]


@pytest.mark.parametrize(
    ("version", "latest", "outdated"),
    [
        ("2.41", "2.41", False),
        ("2.40", "2.41", True),
        ("2.9", "2.41", True),
        ("2.100", "2.41", False),
        ("R3.213b", "R3.214", True),
        ("3", "3.0.1", True),
        ("3.0.1", "3", False),
        ("", "2.41", False),  # nothing given: nothing to warn about
        ("2.0", "", False),  # no latest known
        ("abc", "1.0", True),
    ],
)
def test_version_comparison(version, latest, outdated):
    assert Product(latest_version=latest).is_version_outdated(version) is outdated


def test_version_key_ignores_letters():
    assert version_key("R3.213b") == (3, 213)
    assert version_key("beta") == (0,)


@pytest.mark.django_db
def test_active_products_in_display_order_and_latest_version_update():
    hidden = ProductFactory(is_active=False)
    product = ProductFactory(position=1)
    assert hidden not in product_list_active()
    assert product_list_active().first() == product
    product_update_latest_version(product=product, version=" 4.0 ")
    product.refresh_from_db()
    assert product.latest_version == "4.0"
