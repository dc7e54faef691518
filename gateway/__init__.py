"""The JT/T 808 gateway: terminals over TCP in, position payloads to the broker out (`yiwang gateway jt808`)."""
