"""A one-detector bank (SOS button, cancel) for gateway tests until edge.detectors lands."""

from __future__ import annotations

from typing import Any

from edge.config import GatewayConfig
from edge.detectors.base import Detection, Detector, DetectorBank
from firmware_profiles import ProfileLibrary
from protocol import AlarmKind, HomeManifest, Reading, ReadingKind


class SosDetector(Detector):
    """SOS pressed: active; cancel pressed: inactive and cancelled."""

    type = "test_sos"
    kinds = frozenset({ReadingKind.SOS, ReadingKind.CANCEL})

    def feed(self, reading: Reading) -> list[Detection]:
        if reading.value is not True:
            return []
        evidence = (
            {
                "device_id": reading.device_id,
                "kind": reading.kind.value,
                "ts": reading.ts,
                "value": True,
            },
        )
        if reading.kind is ReadingKind.SOS:
            return [
                Detection(
                    AlarmKind.SOS,
                    self.type,
                    reading.ts,
                    device_id=reading.device_id,
                    evidence=evidence,
                )
            ]
        return [
            Detection(
                AlarmKind.SOS,
                self.type,
                reading.ts,
                active=False,
                device_id=reading.device_id,
                details={"cancelled": True},
            )
        ]

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        return None


def sos_bank(home: HomeManifest, library: ProfileLibrary, config: GatewayConfig) -> DetectorBank:
    """One SOS detector per button of the home."""
    return DetectorBank(
        SosDetector(device_id=d.device_id) for d in home.devices if d.profile == "aqara-wxkg11lm"
    )
