from django.contrib import admin
from django.db import models

from products.models import Product
from products.services import product_update_latest_version


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
    show_facets = admin.ShowFacets.NEVER
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        """Save the product; a new latest version goes through product_update_latest_version."""
        if not change or "latest_version" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        version = obj.latest_version
        obj.latest_version = form.initial.get("latest_version", "")
        super().save_model(request, obj, form, change)
        product_update_latest_version(product=obj, version=version)
