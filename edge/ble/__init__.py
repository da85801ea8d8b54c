"""``carewatch-ble``: BLE wearables to the home's MQTT broker, as carewatch profiles decode.

Decoders (pure, no bleak): :mod:`edge.ble.heart_rate` (Bluetooth Heart Rate service),
:mod:`edge.ble.polar_pmd` (Polar Measurement Data accelerometer stream). The bridge
(:mod:`edge.ble.bridge`) connects with bleak and publishes with aiomqtt.
"""
