"""The carewatch device simulator: sensors, homes, scenarios and fleets over real MQTT."""
