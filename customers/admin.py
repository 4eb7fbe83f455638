from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from customers.models import Customer, Unit, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active"]


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0
    fields = ["product", "serial_number", "status", "status_changed_at"]
    readonly_fields = ["status_changed_at"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["code", "company", "contact_name", "country", "language", "is_suspended"]
    list_filter = ["is_suspended", "language", "country"]
    search_fields = ["code", "company", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    inlines = [UnitInline]
    show_full_result_count = False


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["serial_number", "product", "customer", "status"]
    list_filter = ["status", "product"]
    search_fields = ["serial_number", "customer__code"]
    list_select_related = ["product", "customer"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
