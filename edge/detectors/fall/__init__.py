"""Fall from a wrist or waist accelerometer: configuration (``config``), features built by
name (``features``), the learned score (``model``), the waist's recovery rule
(``recovery``) and the streaming detector (``detector``)."""

from edge.detectors.fall.config import FallConfig, waist_defaults
from edge.detectors.fall.detector import FallDetector
from edge.detectors.fall.features import ALL_FEATURES, FEATURES
from edge.detectors.fall.model import DATA_DIR, FallModel, load_model, model_path
from edge.detectors.fall.recovery import RecoveryRule

__all__ = [
    "ALL_FEATURES",
    "DATA_DIR",
    "FEATURES",
    "FallConfig",
    "FallDetector",
    "FallModel",
    "RecoveryRule",
    "load_model",
    "model_path",
    "waist_defaults",
]
