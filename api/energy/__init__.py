"""Energy statistics: consumption from registers, indicators, quotas, carbon."""
