"""Shipped model weights of the detectors (installed as package data)."""
