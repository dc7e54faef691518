"""How a client of ours (the collector, the supervisor, the simulators) reaches the broker over TLS."""

from __future__ import annotations

import ssl

import aiomqtt

from yiwang.settings import Settings


def tls_params(settings: Settings) -> aiomqtt.TLSParameters | None:
    """TLS to the broker when a CA is configured: the broker's certificate and host name are checked."""
    if settings.mqtt_tls_ca_file is None:
        return None
    return aiomqtt.TLSParameters(ca_certs=str(settings.mqtt_tls_ca_file), cert_reqs=ssl.CERT_REQUIRED)
