"""Streaming detectors: one interface, one file per detector, registered explicitly by type."""

from edge.detectors.base import Detection, Detector, DetectorBank, DetectorInputError
from edge.detectors.home import HomeContext
from edge.detectors.registry import REGISTRY, DetectorsConfig, build_bank

__all__ = [
    "REGISTRY",
    "Detection",
    "Detector",
    "DetectorBank",
    "DetectorInputError",
    "DetectorsConfig",
    "HomeContext",
    "build_bank",
]
