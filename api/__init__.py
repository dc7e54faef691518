"""The HTTP API: energy statistics and the one-network dispatch view, scoped by role and unit."""
