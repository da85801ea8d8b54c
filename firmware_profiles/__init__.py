"""Device library: one declarative profile per device model, and the codec for their payloads."""
