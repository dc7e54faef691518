"""The fleet's routers, one per path prefix: /requests, /vehicles/{id}/track and /trips, /alerts, /areas,
/reports."""
