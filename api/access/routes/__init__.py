"""Access's routers: /auth (logging in, refreshing, logging out), /users, /audit."""
