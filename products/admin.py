from django.contrib import admin

from products.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "family",
        "role",
        "has_serial_number",
        "latest_version",
        "is_active",
        "position",
    ]
    list_editable = ["latest_version", "is_active", "position"]
    list_filter = ["family", "is_active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
