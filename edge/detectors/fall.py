"""Fall from a wrist or waist accelerometer.

Pipeline, ObsPy/river style, each step on whole blocks:
1. spread timestamps that arrive in bursts (each sample at least ``debunch`` of the
   device's nominal interval after the previous one), then resample the irregular, gappy
   samples onto a fixed grid (``Resampler``);
2. gravity by a low-pass filter whose state is carried across blocks (``sosfilt`` + ``zi``);
3. characteristic function: acceleration magnitude (a saturated axis makes it a lower bound,
   and the time spent saturated becomes a feature);
4. on/off hysteresis trigger; the peak of each triggered event is an impact candidate;
5. once ``post_s`` seconds after the impact have arrived, two dozen features (free fall and
   velocity towards the ground before, impact, jerk, posture change and turn rate, stillness
   after, repetitiveness) are scored by small gradient-boosted trees shipped in
   ``data/fall_<placement>.json`` (``bench/train_fall.py``);
6. threshold (scoring is kept apart from thresholding) and a refractory period.

A candidate whose post-impact window never completes (the stream stopped) is scored on what
arrived once ``flush_after_s`` passes on ``tick`` or a gap restarts the stream.
A ``cancel`` reading from the resident ends the open fall alarms (inactive detection).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import signal as sps

from edge.detectors.base import Detection, Detector, DetectorInputError
from edge.detectors.signal import (
    F64,
    Resampler,
    accel_block,
    finite_or_none,
    hysteresis,
    none_to,
    scalar_series,
)
from protocol import AlarmKind, Reading, ReadingKind

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
G_MS2 = 9.80665  # standard gravity, m/s^2

FEATURES: tuple[str, ...] = (
    "peak_g",
    "free_fall_min_g",
    "pre_std_g",
    "post_std_g",
    "post_dev_g",
    "tilt_deg",
    "above_s",
    "impacts_pre",
    "impacts_post",
    "log_jerk",
    "saturated_s",
    "impact_area",
    "post_dyn_g",
    "pre_dyn_g",
    "free_fall_area",
    "post_mean_g",
    "still_frac",
    "v_down_ms",
    "v_mag_ms",
    "tilt_raw_deg",
    "turn_rate_dps",
    "post_late_std_g",
    "pre_activity_gps",
)


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
    lying_deg: float = Field(
        default=60.0,
        gt=0,
        le=180,
        title="Lying tilt",
        description="Tilt from the posture before the fall that counts as lying, deg (a fall "
        "that ends sitting never gets there, so it is never taken for a recovery).",
    )
    upright_deg: float = Field(
        default=30.0,
        gt=0,
        le=180,
        title="Recovered tilt",
        description="Tilt from the posture before the fall that counts as back up, deg.",
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


class FallModel:
    """Gradient-boosted depth-2 trees over ``FEATURES``; weights from a JSON file.

    Tree ``i`` splits on ``feature[i][0] > threshold[i][0]``, then on node 1 (left) or 2
    (right) the same way, ending in one of four ``leaf`` values; the score is the logistic
    of ``base`` plus the sum of the leaves, computed for all trees at once.
    """

    def __init__(self, data: dict[str, Any], source: str) -> None:
        names = tuple(data.get("features", ()))
        if names != FEATURES:
            raise ValueError(f"fall model {source}: features {names} do not match {FEATURES}")
        self.base = float(data["base"])
        self.feature = np.asarray(data["feature"], dtype=np.intp).reshape(-1, 3)
        self.split = np.asarray(data["split"], dtype=np.float64).reshape(-1, 3)
        self.leaf = np.asarray(data["leaf"], dtype=np.float64).reshape(-1, 4)
        self.threshold = float(data["threshold"])
        self.source = source
        if not (len(self.feature) == len(self.split) == len(self.leaf)):
            raise ValueError(f"fall model {source}: feature, split and leaf differ in length")
        if len(self.feature) and not 0 <= self.feature.min() <= self.feature.max() < len(names):
            raise ValueError(f"fall model {source}: a tree uses a feature index out of range")

    def margin(self, feats: F64) -> F64:
        """Log-odds of a fall for each feature row."""
        x = np.atleast_2d(feats)
        if not len(self.feature):
            return np.full(len(x), self.base)
        right = x[:, self.feature[:, 0]] > self.split[:, 0]
        f1 = np.where(right, self.feature[:, 2], self.feature[:, 1])
        s1 = np.where(right, self.split[:, 2], self.split[:, 1])
        leaf = 2 * right + (np.take_along_axis(x, f1, axis=1) > s1)
        values = np.take_along_axis(
            np.broadcast_to(self.leaf, (len(x), *self.leaf.shape)), leaf[..., None], axis=2
        )
        return self.base + values[..., 0].sum(axis=1)

    def score(self, feats: F64) -> F64:
        """Fall probability of each feature row, in [0, 1]."""
        return 1.0 / (1.0 + np.exp(-self.margin(feats)))


@lru_cache(maxsize=8)
def load_model(path: str) -> FallModel:
    """Load (once) a fall model file; a bad file raises ValueError naming it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return FallModel(data, path)
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"fall model {path}: cannot load: {exc}") from exc


def model_path(cfg: FallConfig) -> str:
    """Weights file for a configuration."""
    return cfg.weights or str(DATA_DIR / f"fall_{cfg.placement}.json")


def window_features(
    mag: F64, xyz: F64, grav: F64, p: int, end: int, fs: float, cfg: FallConfig
) -> F64:
    """Feature vector (``FEATURES``) of the impact at index ``p``; data valid up to ``end``."""

    def span(a: float, b: float) -> slice:
        return slice(max(0, p + round(a * fs)), max(0, min(end, p + round(b * fs))))

    def stat(x: F64, fn: str, default: float) -> float:
        return float(getattr(np, fn)(x)) if len(x) else default

    pre, ff, imp = span(-cfg.pre_s, -1.0), span(-1.0, 0.0), span(-1.0, 0.5)
    post = span(1.0, cfg.post_s)
    ctx = span(-cfg.pre_s, cfg.post_s)
    g_pre = posture_before(grav, p, fs, cfg)
    g_post = grav[post].mean(axis=0) if post.stop > post.start else grav[end - 1]
    cos = float(np.dot(g_pre, g_post) / (np.linalg.norm(g_pre) * np.linalg.norm(g_post) + 1e-9))
    dyn = np.linalg.norm(xyz - grav, axis=1)
    c = mag[ctx] >= cfg.on_g
    rises = np.flatnonzero(c[1:] & ~c[:-1]) + 1 + ctx.start - p
    half = round(0.5 * fs)
    jerk = np.abs(np.diff(xyz[imp], axis=0)).max() * fs if imp.stop - imp.start > 1 else 0.0
    # velocity towards the ground before the impact: acceleration along the low-passed
    # gravity direction (and, rotation-free, the magnitude) minus 1 g, integrated, m/s
    fall_win = span(-1.5, 0.1)
    up = grav[fall_win] / (np.linalg.norm(grav[fall_win], axis=1, keepdims=True) + 1e-9)
    v_down = np.cumsum((xyz[fall_win] * up).sum(axis=1) - 1.0) * (G_MS2 / fs)
    v_mag = np.cumsum(mag[fall_win] - 1.0) * (G_MS2 / fs)
    # posture change against the raw mean after the impact (no low-pass lag)
    raw_post = xyz[post].mean(axis=0) if post.stop > post.start else xyz[end - 1]
    cos_raw = float(
        np.dot(g_pre, raw_post) / (np.linalg.norm(g_pre) * np.linalg.norm(raw_post) + 1e-9)
    )
    # fastest turn of the gravity direction within 1 s of the impact, deg/s
    turn = span(-1.0, 1.0)
    gu = grav[turn] / (np.linalg.norm(grav[turn], axis=1, keepdims=True) + 1e-9)
    turn_cos = np.clip((gu[1:] * gu[:-1]).sum(axis=1), -1.0, 1.0)
    late = span(1.5, cfg.post_s)
    return np.array(
        [
            mag[p],
            stat(mag[ff], "min", 1.0),
            stat(mag[pre], "std", 0.0),
            stat(mag[post], "std", 0.0),
            abs(stat(mag[post], "mean", 1.0) - 1.0),
            math.degrees(math.acos(max(-1.0, min(1.0, cos)))),
            float(c.sum()) / fs,
            float(np.count_nonzero(rises < -half)),
            float(np.count_nonzero(rises > half)),
            math.log1p(jerk),
            float((np.abs(xyz[imp]) >= cfg.clip_g).any(axis=1).sum()) / fs,
            float(np.abs(mag[imp] - 1.0).sum()) / fs,
            stat(dyn[post], "mean", 0.0),
            stat(dyn[pre], "mean", 0.0),
            float(np.clip(1.0 - mag[span(-1.5, 0.0)], 0.0, None).sum()) / fs,
            stat(mag[post], "mean", 1.0),
            stat((dyn[post] < 0.1).astype(np.float64), "mean", 0.0),
            stat(v_down, "min", 0.0),
            stat(v_mag, "min", 0.0),
            math.degrees(math.acos(max(-1.0, min(1.0, cos_raw)))),
            float(np.degrees(np.arccos(turn_cos)).max()) * fs if len(turn_cos) else 0.0,
            float(np.std(mag[late])) if late.stop - late.start > 1 else 0.0,
            float(np.abs(np.diff(mag[pre])).mean()) * fs if pre.stop - pre.start > 1 else 0.0,
        ]
    )


def posture_before(grav: F64, p: int, fs: float, cfg: FallConfig) -> F64:
    """Mean gravity from ``pre_s`` to 1 s before the impact at ``p`` (else the sample before)."""
    a, b = max(0, p - round(cfg.pre_s * fs)), max(0, p - round(fs))
    return np.asarray(grav[a:b].mean(axis=0) if b > a else grav[max(0, p - 1)], dtype=np.float64)


def recovered_at(grav: F64, posture: F64, fs: float, cfg: FallConfig) -> int | None:
    """Index in ``grav`` (gravity after an impact) where the wearer is back in ``posture``.

    Back means: the trunk first went over (tilt from ``posture`` beyond ``lying_deg``), then
    stayed within ``upright_deg`` of it for ``recovered_hold_s``. None if not.
    """
    if not len(grav):
        return None
    unit = grav / (np.linalg.norm(grav, axis=1, keepdims=True) + 1e-9)
    tilt = np.degrees(np.arccos(np.clip(unit @ posture, -1.0, 1.0)))
    over = np.flatnonzero(tilt > cfg.lying_deg)
    if not len(over):
        return None
    hold = max(1, round(cfg.recovered_hold_s * fs))
    back = (tilt[over[0] :] < cfg.upright_deg).astype(np.int64)
    if len(back) < hold:
        return None
    runs = np.convolve(back, np.ones(hold, dtype=np.int64), mode="valid")
    full = np.flatnonzero(runs == hold)
    return int(over[0] + full[0]) if len(full) else None


@dataclass(slots=True)
class HeldFall:
    """A fall scored above threshold, waiting out the recovery window."""

    p: int  # absolute sample index of the impact peak
    t_peak: float
    score: float
    feats: F64
    posture: F64  # unit gravity direction before the fall

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "p": self.p,
            "t_peak": self.t_peak,
            "score": self.score,
            "feats": self.feats.tolist(),
            "posture": self.posture.tolist(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HeldFall:
        """Inverse of ``to_json``."""
        return cls(
            int(d["p"]),
            float(d["t_peak"]),
            float(d["score"]),
            np.asarray(d["feats"], dtype=np.float64),
            np.asarray(d["posture"], dtype=np.float64),
        )


class FallDetector(Detector):
    """Impact candidates from an accelerometer, confirmed by a learned score."""

    type: ClassVar[str] = "fall"
    kinds: ClassVar[frozenset[ReadingKind]] = frozenset({ReadingKind.ACCEL, ReadingKind.CANCEL})

    def __init__(
        self,
        config: FallConfig | None = None,
        *,
        device_id: str | None = None,
        room: str | None = None,
        model: FallModel | None = None,
        observer: Callable[[float, F64, float], None] | None = None,
        sample_rate_hz: float | None = None,
    ) -> None:
        """``sample_rate_hz`` is the device's nominal rate (its profile's), which bursty
        timestamps are spread by; ``model`` overrides the weights file;
        ``observer(ts, features, score)`` sees every scored candidate (training, benches)."""
        super().__init__(device_id=device_id, room=room)
        self.cfg = config or FallConfig()
        self.model = model or load_model(model_path(self.cfg))
        self.observer = observer
        self.threshold = (
            self.cfg.threshold if self.cfg.threshold is not None else self.model.threshold
        )
        self.fs = self.cfg.rate_hz
        self.sos = sps.butter(2, self.cfg.gravity_hz, fs=self.fs, output="sos")
        after_s = max(self.cfg.post_s, self.cfg.recovery_s)
        self.keep = math.ceil((self.cfg.pre_s + after_s + self.cfg.max_event_s + 1) * self.fs)
        self.max_event = max(1, round(self.cfg.max_event_s * self.fs))
        self.merge = round(self.cfg.merge_s * self.fs)
        rate = sample_rate_hz or 0.0
        self.resampler = Resampler(
            self.fs, self.cfg.max_gap_s, self.cfg.debunch / rate if rate > 0 else 0.0
        )
        self._reset_stream()
        self.last_alarm_t = -math.inf
        self.open_falls: list[float] = []

    def _reset_stream(self) -> None:
        self.zi: F64 | None = None
        self.base = 0  # absolute index of the first buffered sample
        self.t = np.empty(0)
        self.xyz = np.empty((0, 3))
        self.grav = np.empty((0, 3))
        self.active = False
        self.event_start = 0
        self.event_peak = -1
        self.pending: list[int] = []  # absolute indices of impact peaks awaiting scoring
        self.held: list[HeldFall] = []  # falls waiting out the recovery window

    # -- streaming -----------------------------------------------------------------------

    def feed(self, reading: Reading) -> list[Detection]:
        """Consume an accel block or a cancel; return completed detections."""
        if reading.kind == ReadingKind.CANCEL:
            return self._cancel(reading)
        if reading.kind != ReadingKind.ACCEL:
            raise DetectorInputError(f"detector fall: cannot use {reading.kind} readings")
        t, x = accel_block(reading, self.type)
        out: list[Detection] = []
        for grid, vals, restarted in self.resampler.feed(t, x):
            if restarted:
                out += self._flush()
                self._reset_stream()
            if len(grid):
                out += self._process(grid, vals)
        return out

    def tick(self, now: float) -> list[Detection]:
        """Score candidates, and decide held falls, whose stream went silent before their
        window completed."""
        if (self.pending or self.held) and now - self.resampler.last_t >= self.cfg.flush_after_s:
            return self._flush()
        return []

    def _process(self, grid: F64, vals: F64) -> list[Detection]:
        if self.zi is None:
            self.zi = np.einsum("si,j->sij", sps.sosfilt_zi(self.sos), vals[0])
        grav, self.zi = sps.sosfilt(self.sos, vals, axis=0, zi=self.zi)
        n_old = len(self.t)
        self.t = np.concatenate((self.t, grid))
        self.xyz = np.vstack((self.xyz, vals))
        self.grav = np.vstack((self.grav, grav))
        mag = np.linalg.norm(vals, axis=1)
        offset = self.base + n_old
        was_active = self.active
        events, self.active = hysteresis(mag, self.cfg.on_g, self.cfg.off_g, self.active)
        full_mag = np.linalg.norm(self.xyz, axis=1)
        for s, e in events:
            if not (s == 0 and was_active):
                self.event_start, self.event_peak = offset + s, -1
            self._extend_event(full_mag, offset + e, closed=e < len(mag))
        out = self._score_ready(full_mag, self.base + len(self.t), final=False)
        drop = max(0, len(self.t) - self.keep)
        if drop:
            self.t, self.xyz, self.grav = self.t[drop:], self.xyz[drop:], self.grav[drop:]
            self.base += drop
        return out

    def _extend_event(self, full_mag: F64, stop: int, *, closed: bool) -> None:
        """Grow the open event to ``stop`` (absolute); one candidate per ``max_event`` piece."""
        while True:
            seg_end = min(stop, self.event_start + self.max_event)
            lo, hi = self.event_start - self.base, seg_end - self.base
            if hi > lo:
                self.event_peak = self.base + lo + int(np.argmax(full_mag[lo:hi]))
            if seg_end - self.event_start < self.max_event and not (closed and seg_end == stop):
                return
            if self.event_peak >= 0:
                self._add_candidate(self.event_peak, full_mag)
            self.event_start, self.event_peak = seg_end, -1
            if seg_end >= stop:
                return

    def _add_candidate(self, peak: int, full_mag: F64) -> None:
        if self.pending and peak - self.pending[-1] < self.merge:
            if full_mag[peak - self.base] > full_mag[self.pending[-1] - self.base]:
                self.pending[-1] = peak
            return
        self.pending.append(peak)

    def _score_ready(self, full_mag: F64, end: int, *, final: bool) -> list[Detection]:
        post = round(self.cfg.post_s * self.fs)
        min_post = round(self.cfg.min_post_s * self.fs)
        ready = [p for p in self.pending if p + post <= end or (final and p + min_post <= end)]
        if final:
            self.pending = []
        else:
            self.pending = [p for p in self.pending if p not in ready]
        out: list[Detection] = []
        for p in ready:
            feats = window_features(
                full_mag, self.xyz, self.grav, p - self.base, end - self.base, self.fs, self.cfg
            )
            score = float(self.model.score(feats)[0])
            t_peak = float(self.t[p - self.base])
            log.debug("fall candidate %s at %.2f score %.3f", self.device_id, t_peak, score)
            if self.observer is not None:
                self.observer(t_peak, feats, score)
            if score < self.threshold or t_peak - self.last_alarm_t < self.cfg.refractory_s:
                continue
            self.last_alarm_t = t_peak
            g = posture_before(self.grav, p - self.base, self.fs, self.cfg)
            self.held.append(HeldFall(p, t_peak, score, feats, g / (np.linalg.norm(g) + 1e-9)))
        return out + self._decide_held(end, final=final)

    def _decide_held(self, end: int, *, final: bool) -> list[Detection]:
        """Alarm (or record a recovery) for held falls whose recovery window is complete."""
        span = round(self.cfg.recovery_s * self.fs)
        wait = max(span, round(self.cfg.post_s * self.fs))
        done = [final or h.p + wait <= end for h in self.held]
        ready = [h for h, d in zip(self.held, done, strict=True) if d]
        self.held = [h for h, d in zip(self.held, done, strict=True) if not d]
        out: list[Detection] = []
        for h in ready:
            hi = min(end, h.p + wait) - self.base
            decided = float(self.t[hi - 1])
            after = self.grav[h.p - self.base : min(hi, h.p - self.base + span)]
            back_at = recovered_at(after, h.posture, self.fs, self.cfg) if span else None
            if back_at is None:
                self.open_falls.append(h.t_peak)
                out.append(self._detection(h, decided))
            else:
                out += self._recovery(h, float(self.t[h.p - self.base + back_at]), decided)
        return out

    def _flush(self) -> list[Detection]:
        if not (self.pending or self.held) or not len(self.t):
            self.pending, self.held = [], []
            return []
        full_mag = np.linalg.norm(self.xyz, axis=1)
        return self._score_ready(full_mag, self.base + len(self.t), final=True)

    def _detection(self, h: HeldFall, decided: float, up_s: float | None = None) -> Detection:
        """The fall alarm, or with ``up_s`` (back up after) the fall_recovered hint."""
        f = dict(zip(FEATURES, h.feats.tolist(), strict=True))
        peak = round(f["peak_g"], 3)
        details: dict[str, Any] = {
            "placement": self.cfg.placement,
            "decided_at": decided,
            **{k: round(v, 4) for k, v in f.items()},
        }
        if up_s is None:
            kind = AlarmKind.FALL
            message = f"fall: impact {f['peak_g']:.1f} g, posture change {f['tilt_deg']:.0f} deg"
            summary = {
                "peak_g": peak,
                "tilt_deg": round(f["tilt_deg"], 1),
                "post_std_g": round(f["post_std_g"], 3),
                "score": round(h.score, 3),
            }
        else:
            kind = AlarmKind.FALL_RECOVERED
            message = f"fall-like impact {f['peak_g']:.1f} g; back up after {up_s:.0f} s"
            details |= {"back_up_s": round(up_s, 2), "fall_score": round(h.score, 4)}
            summary = {"peak_g": peak, "back_up_s": round(up_s, 1)}
        return Detection(
            kind=kind,
            detector=self.type,
            ts=h.t_peak,
            device_id=self.device_id,
            room=self.room,
            score=h.score,
            message=message,
            details=details,
            evidence=(
                {
                    "device_id": self.device_id or "",
                    "kind": str(ReadingKind.ACCEL),
                    "ts": h.t_peak,
                    "value": peak,
                    "summary": summary,
                },
            ),
        )

    def _recovery(self, h: HeldFall, back_ts: float, decided: float) -> list[Detection]:
        """A fall the wearer got straight up from: a hint raised and closed at once."""
        up_s = back_ts - h.t_peak
        log.info(
            "fall of %s at %.2f: back up after %.1f s, no alarm", self.device_id, h.t_peak, up_s
        )
        opened = self._detection(h, decided, up_s)
        return [opened, replace(opened, ts=decided, active=False, message="back up", evidence=())]

    def _cancel(self, reading: Reading) -> list[Detection]:
        _, v = scalar_series(reading, self.type)
        if not len(v) or not v.any():
            return []
        ended = [t for t in self.open_falls if reading.ts - t <= self.cfg.cancel_window_s]
        self.open_falls = []
        if self.held:  # still in their recovery window: never raised, so nothing to end
            log.info("fall of %s cancelled by the resident before it was raised", self.device_id)
            self.held = []
        return [
            Detection(
                kind=AlarmKind.FALL,
                detector=self.type,
                ts=reading.ts,
                active=False,
                device_id=self.device_id,
                room=self.room,
                message="fall cancelled by the resident",
                details={"cancelled": True, "fall_ts": t},
            )
            for t in ended
        ]

    # -- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """JSON state: resampler, filter, buffered window, trigger and pending candidates."""
        return {
            "resampler": self.resampler.state(),
            "zi": None if self.zi is None else self.zi.tolist(),
            "base": self.base,
            "t": self.t.tolist(),
            "xyz": self.xyz.tolist(),
            "grav": self.grav.tolist(),
            "active": self.active,
            "event_start": self.event_start,
            "event_peak": self.event_peak,
            "pending": list(self.pending),
            "held": [h.to_json() for h in self.held],
            "last_alarm_t": finite_or_none(self.last_alarm_t),
            "open_falls": list(self.open_falls),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.resampler.restore(state["resampler"])
        self.zi = None if state["zi"] is None else np.asarray(state["zi"], dtype=np.float64)
        self.base = int(state["base"])
        self.t = np.asarray(state["t"], dtype=np.float64)
        self.xyz = np.asarray(state["xyz"], dtype=np.float64).reshape(-1, 3)
        self.grav = np.asarray(state["grav"], dtype=np.float64).reshape(-1, 3)
        self.active = bool(state["active"])
        self.event_start = int(state["event_start"])
        self.event_peak = int(state["event_peak"])
        self.pending = [int(p) for p in state["pending"]]
        self.held = [HeldFall.from_json(h) for h in state.get("held", [])]
        self.last_alarm_t = none_to(state["last_alarm_t"], -math.inf)
        self.open_falls = [float(t) for t in state["open_falls"]]
