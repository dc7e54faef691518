"""Supervision's routers: /alerts and /areas."""
