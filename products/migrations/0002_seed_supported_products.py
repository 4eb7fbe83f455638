from django.db import migrations

# The supported products of the terms, §1. Managers edit versions and links afterwards.
PRODUCTS = [
    ("kessv2-master", "KESSv2 Master", "kess", "master", True, 10),
    ("kessv2-slave", "KESSv2 Slave", "kess", "slave", True, 20),
    ("ktag-master", "K-TAG Master", "ktag", "master", True, 30),
    ("ktag-slave", "K-TAG Slave", "ktag", "slave", True, 40),
    ("ecm-titanium", "ECM Titanium", "ecm", "", True, 50),
    ("powergate3-plus", "Powergate3+", "powergate", "", True, 60),
    ("databank", "Databank", "databank", "", False, 70),
]


def seed(apps, schema_editor):
    Product = apps.get_model("products", "Product")
    for code, name, family, role, has_serial, position in PRODUCTS:
        Product.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "family": family,
                "role": role,
                "has_serial_number": has_serial,
                "position": position,
            },
        )


def unseed(apps, schema_editor):
    Product = apps.get_model("products", "Product")
    Product.objects.filter(code__in=[p[0] for p in PRODUCTS], units__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("products", "0001_product")]

    operations = [migrations.RunPython(seed, unseed)]
