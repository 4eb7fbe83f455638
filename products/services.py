from products.models import Product


def product_update_latest_version(*, product: Product, version: str) -> Product:
    """Record a new latest software version for a product."""
    product.latest_version = version.strip()
    product.full_clean()
    product.save(update_fields=["latest_version", "updated_at"])
    return product
