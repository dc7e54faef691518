"""The collector: the device contract, and the path from MQTT to TimescaleDB."""
