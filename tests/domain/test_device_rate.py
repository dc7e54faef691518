"""What one device may send: a burst after a quiet spell, then the rate; devices apart; a rate of 0 is off."""

from __future__ import annotations

from domain.device_rate import Allowance, DeviceRate


def test_a_quiet_device_may_send_its_burst_at_once_then_the_rate() -> None:
    rate = DeviceRate(Allowance(messages_per_minute=60, bytes_per_minute=0, burst_minutes=2))
    assert all(rate.allow("m1", 100, 0.0) for _ in range(120))
    assert not rate.allow("m1", 100, 0.0)
    # One message a second comes back, and a refused message takes nothing.
    assert not rate.allow("m1", 100, 0.5)
    assert rate.allow("m1", 100, 1.0)
    assert not rate.allow("m1", 100, 1.0)
    # Refilled, never beyond the burst.
    assert sum(rate.allow("m1", 100, 3600.0) for _ in range(500)) == 120


def test_bytes_bind_as_messages_do() -> None:
    rate = DeviceRate(Allowance(messages_per_minute=0, bytes_per_minute=6000, burst_minutes=1))
    assert rate.allow("v1", 5000, 0.0)
    assert not rate.allow("v1", 5000, 0.0)
    assert rate.allow("v1", 1000, 0.0)
    assert rate.allow("v1", 5000, 50.0)


def test_devices_have_their_own_allowance() -> None:
    rate = DeviceRate(Allowance(messages_per_minute=1, bytes_per_minute=0, burst_minutes=1))
    assert rate.allow("m1", 1, 0.0)
    assert not rate.allow("m1", 1, 0.0)
    assert rate.allow("m2", 1, 0.0)


def test_a_clock_stepping_back_refills_nothing() -> None:
    rate = DeviceRate(Allowance(messages_per_minute=1, bytes_per_minute=0, burst_minutes=1))
    assert rate.allow("m1", 1, 100.0)
    assert not rate.allow("m1", 1, 40.0)
    assert not rate.allow("m1", 1, 100.0)
    assert rate.allow("m1", 1, 160.0)


def test_rates_of_zero_turn_the_limit_off() -> None:
    rate = DeviceRate(Allowance(messages_per_minute=0, bytes_per_minute=0, burst_minutes=1))
    assert all(rate.allow("m1", 10**9, 0.0) for _ in range(10_000))
