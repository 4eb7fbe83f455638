from customers.selectors import customer_access


def access(request):
    """Expose the workshop the user acts for (None for staff and visitors), and how."""
    user = getattr(request, "user", None)
    current = customer_access(user) if user is not None else None
    return {
        "current_access": current,
        "current_customer": current.customer if current is not None else None,
    }
