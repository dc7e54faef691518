"""Yiwang: settings and the `yiwang` command shared by every part of the platform."""
