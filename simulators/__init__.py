"""Simulated meters and vehicles of a city, publishing over MQTT like the real devices."""
