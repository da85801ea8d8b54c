"""The fall detector: one accelerometer's stream to fall alarms and recovery hints.

Pipeline, ObsPy/river style, each step on whole blocks:
1. spread timestamps that arrive in bursts (each sample at least ``debunch`` of the
   device's nominal interval after the previous one), then resample the irregular, gappy
   samples onto a fixed grid (``Resampler``);
2. gravity by a low-pass filter whose state is carried across blocks (``sosfilt`` + ``zi``);
3. characteristic function: acceleration magnitude (a saturated axis makes it a lower bound,
   and the time spent saturated becomes a feature);
4. on/off hysteresis trigger; the peak of each triggered event is an impact candidate;
5. once ``post_s`` seconds after the impact have arrived, the features the model file names
   (``features.py``) are scored by its boosted trees (``model.py``, trained by
   ``bench/train_fall.py``);
6. threshold (scoring is kept apart from thresholding) and a refractory period; on the
   waist, a recovery window (``recovery.py``).

A candidate whose post-impact window never completes (the stream stopped) is scored on what
arrived once ``flush_after_s`` passes on ``tick`` or a gap restarts the stream.
A ``cancel`` reading from the resident ends the open fall alarms (inactive detection).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from scipy import signal as sps

from edge.detectors.base import Detection, Detector, DetectorInputError
from edge.detectors.fall.config import FallConfig
from edge.detectors.fall.features import (
    FIRST_FEATURES,
    SUMMARY,
    ImpactWindow,
    compute,
    tilt_from,
)
from edge.detectors.fall.model import FallModel, load_model, model_path
from edge.detectors.fall.recovery import RecoveryRule
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


@dataclass(slots=True)
class HeldFall:
    """A fall scored above threshold, waiting out the recovery window."""

    p: int  # absolute sample index of the impact peak
    t_peak: float
    score: float
    values: dict[str, float]  # the model's features and the summary ones, by name
    posture: F64  # unit gravity direction before the fall

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "p": self.p,
            "t_peak": self.t_peak,
            "score": self.score,
            "values": dict(self.values),
            "posture": self.posture.tolist(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> HeldFall:
        """Inverse of ``to_json`` (also of the older form, values listed as ``feats``)."""
        values = (
            d["values"] if "values" in d else dict(zip(FIRST_FEATURES, d["feats"], strict=True))
        )
        return cls(
            int(d["p"]),
            float(d["t_peak"]),
            float(d["score"]),
            {str(k): float(v) for k, v in values.items()},
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
        tilt_observer: Callable[[float, F64], None] | None = None,
        sample_rate_hz: float | None = None,
    ) -> None:
        """``sample_rate_hz`` is the device's nominal rate (its profile's), which bursty
        timestamps are spread by; ``model`` overrides the weights file;
        ``observer(ts, features, score)`` sees every scored candidate (features in the
        model's order) and ``tilt_observer(ts, tilt)`` the tilt from the posture before of
        every fall decided after its recovery window (training, benches)."""
        super().__init__(device_id=device_id, room=room)
        self.cfg = config or FallConfig()
        self.model = model or load_model(model_path(self.cfg))
        self.observer, self.tilt_observer = observer, tilt_observer
        self.threshold = (
            self.cfg.threshold if self.cfg.threshold is not None else self.model.threshold
        )
        self.names = self.model.features + tuple(n for n in SUMMARY if n not in self.model.features)
        self.rule = RecoveryRule(
            self.model.lying_deg if self.cfg.lying_deg is None else self.cfg.lying_deg,
            self.model.upright_deg if self.cfg.upright_deg is None else self.cfg.upright_deg,
            self.cfg.recovered_hold_s,
        )
        self.fs = self.cfg.rate_hz
        self.sos = sps.butter(2, self.cfg.gravity_hz, fs=self.fs, output="sos")
        after_s = max(self.cfg.post_s, self.cfg.recovery_s)
        self.keep = math.ceil((self.cfg.pre_s + after_s + self.cfg.max_event_s + 1) * self.fs)
        self.max_event = max(1, round(self.cfg.max_event_s * self.fs))
        self.merge = round(self.cfg.merge_s * self.fs)
        rate = self.device_hz = sample_rate_hz or 0.0
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
            win = ImpactWindow(
                full_mag,
                self.xyz,
                self.grav,
                p - self.base,
                end - self.base,
                self.fs,
                self.cfg,
                self.device_hz,
            )
            values = compute(win, self.names)
            feats = values[: len(self.model.features)]
            score = float(self.model.score(feats)[0])
            t_peak = float(self.t[p - self.base])
            log.debug("fall candidate %s at %.2f score %.3f", self.device_id, t_peak, score)
            if self.observer is not None:
                self.observer(t_peak, feats, score)
            if score < self.threshold or t_peak - self.last_alarm_t < self.cfg.refractory_s:
                continue
            self.last_alarm_t = t_peak
            g = win.g_pre
            named = dict(zip(self.names, values.tolist(), strict=True))
            self.held.append(HeldFall(p, t_peak, score, named, g / (np.linalg.norm(g) + 1e-9)))
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
            tilt = tilt_from(after, h.posture)
            if self.tilt_observer is not None:
                self.tilt_observer(h.t_peak, tilt)
            back_at = self.rule.recovered_at(tilt, self.fs) if span else None
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
        f = h.values
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
