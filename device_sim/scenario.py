"""Scenario files: a home manifest played from a start time, with episodes and faults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from device_sim.episodes import EPISODE_ALARMS, Episode
from device_sim.faults import FAULT_KINDS, Fault
from device_sim.timespec import parse_at, parse_duration, parse_start
from protocol.home import HomeManifest, load_home
from protocol.yamlfile import FileError, format_validation_error, parse_yaml_text, validate_text

BUILTIN_DIR = Path(__file__).resolve().parent / "scenarios"

Duration = Annotated[float, BeforeValidator(parse_duration)]
TimeText = float | int | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EpisodeSpec(_Strict):
    """One incident to play."""

    kind: Literal[tuple(EPISODE_ALARMS)] = Field(description="Incident kind.")  # type: ignore[valid-type]
    at: TimeText = Field(description="When: +20m, 14:30, ISO local datetime or seconds.")
    duration: Duration = Field(default=0.0, description="How long; 0 = the kind's default.")
    device: str | None = Field(default=None, description="Device id, for device-bound kinds.")
    params: dict[str, Any] = Field(default_factory=dict, description="Kind-specific settings.")


class FaultSpec(_Strict):
    """One fault to inject into delivery."""

    kind: Literal[FAULT_KINDS] = Field(description="Fault kind.")  # type: ignore[valid-type]
    at: TimeText = Field(default=0, description="When it starts (default: the run's start).")
    duration: Duration = Field(default=0.0, description="How long; 0 = to the end.")
    device: str | None = Field(default=None, description="Only this device's messages.")
    rate: float = Field(default=1.0, gt=0, le=1, description="Share of messages hit.")
    params: dict[str, Any] = Field(default_factory=dict, description="max_delay_s, down_for_s.")


class ScenarioFile(_Strict):
    """A scenario as written in YAML."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    description: str = Field(min_length=1)
    home: str = Field(min_length=1, description="Home manifest path, relative to this file.")
    start: str = Field(description="ISO local datetime in the home's timezone.")
    duration: Duration = Field(gt=0, description="How much simulated time to play.")
    speed: float = Field(default=60.0, gt=0, le=1_000_000, description="Simulated s per wall s.")
    seed: int = Field(default=0, ge=0)
    accel: bool = Field(default=True, description="Send wearable accelerometer bursts.")
    episodes: list[EpisodeSpec] = Field(default_factory=list)
    faults: list[FaultSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scenario resolved against its home: epoch times, episodes, faults."""

    name: str
    description: str
    path: Path
    home_path: Path
    home: HomeManifest
    start: float
    end: float
    speed: float
    seed: int
    accel: bool
    episodes: list[Episode]
    faults: list[Fault]

    def summary(self) -> dict[str, Any]:
        """The JSON object ``scenarios --json`` prints."""
        return {
            "name": self.name,
            "description": self.description,
            "home": str(self.home_path),
            "path": str(self.path),
            "home_id": self.home.home_id,
            "start": self.start,
            "duration_s": self.end - self.start,
            "speed": self.speed,
            "seed": self.seed,
            "episodes": [e.kind for e in self.episodes],
            "faults": [f.kind for f in self.faults],
        }


def _problem(loc: tuple[str | int, ...], msg: str, value: Any) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("scenario", msg), loc=loc, input=value)


def _resolve(sc: ScenarioFile, path: Path, root: Any) -> Scenario:
    problems: list[InitErrorDetails] = []
    home_path = (path.parent / sc.home).resolve()
    if not home_path.is_file():
        problems.append(_problem(("home",), f"home manifest {home_path} not found", sc.home))
        _raise(path, root, problems)
    home = load_home(home_path)
    try:
        start = parse_start(sc.start, home.timezone)
    except ValueError as exc:
        problems.append(_problem(("start",), f"not an ISO datetime: {exc}", sc.start))
        _raise(path, root, problems)
    end = start + sc.duration
    ids = {d.device_id for d in home.devices}
    episodes: list[Episode] = []
    for i, e in enumerate(sc.episodes):
        at = _when(("episodes", i, "at"), e.at, start, end, home.timezone, problems)
        if e.device is not None and e.device not in ids:
            msg = f"device {e.device!r} is not in home {home.home_id} ({home_path.name})"
            problems.append(_problem(("episodes", i, "device"), msg, e.device))
        if at is not None:
            episodes.append(Episode(e.kind, at, e.duration, e.device, dict(e.params)))
    faults: list[Fault] = []
    for i, f in enumerate(sc.faults):
        at = _when(("faults", i, "at"), f.at, start, end, home.timezone, problems)
        if f.device is not None and f.device not in ids:
            msg = f"device {f.device!r} is not in home {home.home_id} ({home_path.name})"
            problems.append(_problem(("faults", i, "device"), msg, f.device))
        if f.kind == "silent" and f.device is None:
            problems.append(
                _problem(("faults", i, "device"), "a silent fault needs a device", None)
            )
        if at is not None:
            faults.append(Fault(f.kind, at, f.duration, f.device, f.rate, dict(f.params)))
    if problems:
        _raise(path, root, problems)
    episodes += [
        Episode("device_offline", f.at, f.duration_s or (end - f.at), f.device_id)
        for f in faults
        if f.kind == "silent"
    ]
    return Scenario(
        sc.name,
        sc.description,
        path,
        home_path,
        home,
        start,
        end,
        sc.speed,
        sc.seed,
        sc.accel,
        episodes,
        faults,
    )


def _when(
    loc: tuple[str | int, ...],
    value: TimeText,
    start: float,
    end: float,
    tz: str,
    problems: list[InitErrorDetails],
) -> float | None:
    try:
        at = parse_at(value, start, tz)
    except ValueError as exc:
        problems.append(_problem(loc, str(exc), value))
        return None
    if not start <= at < end:
        problems.append(_problem(loc, f"{value!r} is outside the scenario's span", value))
        return None
    return at


def _raise(path: Path, root: Any, problems: list[InitErrorDetails]) -> None:
    exc = ValidationError.from_exception_data("Scenario", problems)
    raise FileError(path, format_validation_error(exc, root))


def load_scenario(path: str | Path) -> Scenario:
    """Load and resolve a scenario file; a bad one raises FileError naming file, line, field."""
    p = Path(path).resolve()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FileError(p, ["0: file not found"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(p, [f"0: cannot read: {exc}"]) from exc
    sc = validate_text(text, p, ScenarioFile)
    _, root = parse_yaml_text(text, p)
    return _resolve(sc, p, root)


def builtin_paths() -> list[Path]:
    """The scenario files shipped with the simulator."""
    return sorted(BUILTIN_DIR.glob("*.yaml"))


def find_scenario(name_or_path: str) -> Path:
    """A built-in scenario by name, or a scenario file by path; FileError if neither."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    candidate = BUILTIN_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = ", ".join(q.stem for q in builtin_paths())
    raise FileError(name_or_path, [f"0: no such scenario file or built-in (built-ins: {known})"])
