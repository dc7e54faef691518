"""The registry's routers, one per path prefix: /organisations, /vehicle-quotas, /institutions, /meters, /vehicles,
/drivers, and /registry (the tables as files)."""
