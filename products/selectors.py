from products.models import Product


def product_list_active():
    """Return the products customers may choose, in display order."""
    return Product.objects.filter(is_active=True).order_by("position", "name")
