"""The fall detector's configuration (one per placement) and the waist defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FallConfig(BaseModel):
    """Fall detector for one accelerometer device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["fall"] = Field(default="fall", title="Type", description="Detector type.")
    enabled: bool = Field(default=True, title="Enabled", description="Run this detector.")
    placement: Literal["wrist", "waist"] = Field(
        default="wrist", title="Placement", description="Where the device is worn."
    )
    rate_hz: float = Field(
        default=50.0, gt=5, le=400, title="Rate", description="Processing rate, Hz."
    )
    debunch: float = Field(
        default=0.95,
        ge=0,
        le=1,
        title="De-bunch",
        description="Samples closer than this fraction of the device's nominal sample "
        "interval are pushed apart (bursty timestamps); 0 disables.",
    )
    max_gap_s: float = Field(
        default=1.0, gt=0, title="Max gap", description="A longer gap restarts the stream, s."
    )
    gravity_hz: float = Field(
        default=0.5, gt=0, title="Gravity cut-off", description="Low-pass for gravity, Hz."
    )
    on_g: float = Field(
        default=2.0, gt=1, title="Trigger on", description="Magnitude that opens an event, g."
    )
    off_g: float = Field(
        default=1.5, gt=0, title="Trigger off", description="Magnitude that closes it, g."
    )
    max_event_s: float = Field(
        default=2.0, gt=0, title="Max event", description="Longest trigger event, s."
    )
    merge_s: float = Field(
        default=1.5, ge=0, title="Merge", description="Candidates closer than this merge, s."
    )
    pre_s: float = Field(
        default=2.5, gt=1, title="Pre window", description="Context before the impact, s."
    )
    post_s: float = Field(
        default=2.0, gt=1, title="Post window", description="Context after the impact, s."
    )
    min_post_s: float = Field(
        default=0.6, gt=0, title="Min post", description="Least post-impact data to score, s."
    )
    flush_after_s: float = Field(
        default=5.0, gt=0, title="Flush", description="Score a candidate after this silence, s."
    )
    clip_g: float = Field(
        default=3.9, gt=1, title="Clip", description="Axis value counted as saturated, g."
    )
    refractory_s: float = Field(
        default=10.0, ge=0, title="Refractory", description="No second alarm within this, s."
    )
    cancel_window_s: float = Field(
        default=900.0, ge=0, title="Cancel window", description="A cancel ends falls this recent."
    )
    recovery_s: float = Field(
        default=0.0,
        ge=0,
        le=30,
        title="Recovery window",
        description="Hold a fall this long after the impact; if the wearer's trunk went over "
        "and came back to its posture before the fall, it is a fall_recovered hint, not an "
        "alarm, s. 0 decides at once (a wrist's angle says nothing about posture).",
    )
    lying_deg: float | None = Field(
        default=None,
        gt=0,
        le=180,
        title="Lying tilt",
        description="Tilt from the posture before the fall that counts as lying, deg (a fall "
        "that ends sitting never gets there, so it is never taken for a recovery); default: "
        "the model file's (chosen in training).",
    )
    upright_deg: float | None = Field(
        default=None,
        gt=0,
        le=180,
        title="Recovered tilt",
        description="Tilt from the posture before the fall that counts as back up, deg; "
        "default: the model file's (chosen in training).",
    )
    recovered_hold_s: float = Field(
        default=0.5,
        gt=0,
        title="Recovered hold",
        description="How long the posture must stay back up to count as recovered, s.",
    )
    weights: str | None = Field(
        default=None,
        title="Weights",
        description="Model file (JSON); default: the shipped data/fall_<placement>.json.",
    )
    threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        title="Threshold",
        description="Score that raises an alarm; default: the model file's.",
    )


def waist_defaults() -> FallConfig:
    """The waist/pendant configuration the gateway runs."""
    return FallConfig(
        placement="waist", on_g=1.8, off_g=1.3, clip_g=15.5, post_s=2.5, recovery_s=8.0
    )
