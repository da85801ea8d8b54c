"""Load profile files into a library that refuses duplicates and matches payloads to models."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from firmware_profiles.checks import cross_check
from firmware_profiles.errors import ProfileError, ProfileNotFound
from firmware_profiles.profile import DeviceProfile
from firmware_profiles.schema import KindsSection, ProfileSpec
from protocol.readings import KindInfo, declare_kind
from protocol.yamlfile import FileError, format_validation_error, line_of, parse_yaml_text

BUILTIN_DIR = Path(__file__).resolve().parent / "devices"


def load_profile(path: str | Path) -> DeviceProfile:
    """Load and check one profile file; ProfileError names file, line and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(p, [f"0: cannot read: {exc}"]) from exc
    try:
        data, root = parse_yaml_text(text, p)
    except FileError as exc:
        raise ProfileError(p, exc.problems) from exc
    if not isinstance(data, dict):
        raise ProfileError(p, ["1: (top level): a profile is a mapping of fields"])
    _declare_kinds(p, data, root)
    try:
        spec = ProfileSpec.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(p, format_validation_error(exc, root)) from exc
    problems = [
        f"{line_of(root, loc) or 1}: {'.'.join(map(str, loc))}: {msg}"
        for loc, msg in cross_check(spec)
    ]
    if spec.id != p.stem:
        problems.insert(
            0,
            f"{line_of(root, ('id',)) or 1}: id: {spec.id!r} does not match the file name "
            f"{p.name!r}: a profile lives in <id>.yaml ({spec.id}.yaml)",
        )
    if problems:
        raise ProfileError(p, problems)
    return DeviceProfile(spec, source=p)


def _declare_kinds(path: Path, data: dict[str, Any], root: Any) -> None:
    """Register the kinds the file's ``kinds:`` declares, before its fields name them."""
    raw = data.get("kinds")
    if raw is None:
        return
    try:
        section = TypeAdapter(KindsSection).validate_python(raw)
    except ValidationError as exc:
        problems = format_validation_error(exc, root)
        raise ProfileError(path, [_prefixed(problem, "kinds") for problem in problems]) from exc
    for name, decl in section.items():
        info = KindInfo(name, decl.unit, decl.value, decl.event, frozenset(decl.values))
        try:
            declare_kind(info)
        except ValueError as exc:
            line = line_of(root, ("kinds", name)) or 1
            raise ProfileError(path, [f"{line}: kinds.{name}: {exc}"]) from exc


def _prefixed(problem: str, prefix: str) -> str:
    line, _, rest = problem.partition(": ")
    return f"{line}: {prefix}.{rest}" if rest else problem


def profile_files(directory: str | Path) -> list[Path]:
    """The profile files in ``directory``, sorted; ProfileError if there are none."""
    d = Path(directory)
    if not d.is_dir():
        raise ProfileError(d, ["0: not a directory of profiles"])
    files = sorted([*d.glob("*.yaml"), *d.glob("*.yml")])
    if not files:
        raise ProfileError(d, ["0: no profile files (*.yaml) in this directory"])
    return files


class ProfileLibrary:
    """The device models known to the system, by id."""

    def __init__(self, profiles: Iterable[DeviceProfile]) -> None:
        self._by_id: dict[str, DeviceProfile] = {}
        for prof in profiles:
            first = self._by_id.get(prof.id)
            if first is not None:
                raise ProfileError(
                    prof.source or prof.id,
                    [
                        f"{_line(prof, ('id',))}: id: duplicate profile id {prof.id!r}, "
                        f"already defined in {first.source}"
                    ],
                )
            self._by_id[prof.id] = prof
        self._by_z2m_model: dict[str, DeviceProfile] = {}
        for prof in self._by_id.values():
            for model in prof.zigbee2mqtt_models:
                first = self._by_z2m_model.setdefault(model, prof)
                if first is not prof:
                    raise ProfileError(
                        prof.source or prof.id,
                        [
                            f"{_line(prof, ('recognise', 'zigbee2mqtt_models'))}: "
                            f"recognise.zigbee2mqtt_models: Zigbee2MQTT model {model!r} is "
                            f"already served by profile {first.id!r} ({first.source})"
                        ],
                    )
        self._ordered = sorted(self._by_id.values(), key=lambda p: p.id)

    def get(self, profile_id: str) -> DeviceProfile:
        """The profile with this id; ProfileNotFound names the id and close matches."""
        try:
            return self._by_id[profile_id]
        except KeyError:
            close = difflib.get_close_matches(profile_id, list(self._by_id), n=3, cutoff=0.5)
            raise ProfileNotFound(profile_id, close) from None

    def for_zigbee2mqtt_model(self, model: str) -> DeviceProfile | None:
        """The profile serving Zigbee2MQTT ``definition.model`` ``model``, or None."""
        return self._by_z2m_model.get(model)

    def all(self) -> list[DeviceProfile]:
        """Every profile, sorted by id."""
        return list(self._ordered)

    def __len__(self) -> int:
        return len(self._ordered)

    def __iter__(self) -> Iterator[DeviceProfile]:
        return iter(self._ordered)

    def __contains__(self, profile_id: object) -> bool:
        return profile_id in self._by_id

    def match(self, topic: str, payload: bytes) -> list[DeviceProfile]:
        """Profiles whose topic fits and that decode ``payload``, best match first."""
        scored = []
        for prof in self._ordered:
            score = prof.recognition_score(topic, payload)
            if score is not None:
                scored.append((-score, -prof.priority, prof.id, prof))
        scored.sort(key=lambda t: t[:3])
        return [t[3] for t in scored]


def _line(prof: DeviceProfile, loc: tuple[str, ...]) -> int:
    if prof.source is None:
        return 1
    try:
        root = yaml.compose(prof.source.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return 1
    return line_of(root, loc) or 1


def load_library(
    path: str | Path | None = None, *, extra_dirs: Sequence[str | Path] = ()
) -> ProfileLibrary:
    """The built-in profiles (or every profile file in directory ``path``) plus the profile
    files of each of ``extra_dirs``; an id or Zigbee2MQTT model defined twice is refused.

    The built-in library, and each set of extra directories, is loaded once per process.
    """
    if path is not None:
        files = [*profile_files(path), *(f for d in extra_dirs for f in profile_files(d))]
        return ProfileLibrary(load_profile(p) for p in files)
    return _cached(tuple(str(Path(d).resolve()) for d in extra_dirs))


@functools.cache
def _cached(extra_dirs: tuple[str, ...]) -> ProfileLibrary:
    files = [*profile_files(BUILTIN_DIR), *(f for d in extra_dirs for f in profile_files(d))]
    return ProfileLibrary(load_profile(p) for p in files)
