"""pydantic plumbing for the config files: value types whose errors say what is allowed,
sections that reject unknown keys naming the allowed ones, and pydantic's errors turned
into `file: dotted.key: reason` lines (monitor/service/config.py, monitor/service/channels.py).

Only loading uses pydantic: the objects the detectors read are plain dataclasses built
from the validated values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar, NoReturn, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    model_validator,
)

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """Invalid configuration; each line says where (file, key) and why."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def fail(message: str) -> NoReturn:
    """Reject a value with `message` (what is allowed, and what was given)."""
    raise ValueError(message)


def _positive_int(value: Any) -> int:
    if type(value) is not int or value <= 0:
        fail(f"must be a positive integer, got {value!r}")
    return value


def _positive_number(value: Any) -> float:
    if type(value) not in (int, float) or value <= 0:
        fail(f"must be a positive number, got {value!r}")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        fail("must be true or false")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        fail("must be a string")
    return value


def _optional_positive_int(value: Any) -> int | None:
    return None if value is None else _positive_int(value)


PositiveInt = Annotated[int, PlainValidator(_positive_int)]
PositiveNumber = Annotated[float, PlainValidator(_positive_number)]
Flag = Annotated[bool, PlainValidator(_flag)]
Text = Annotated[str, PlainValidator(_text)]
OptionalPositiveInt = Annotated[int | None, PlainValidator(_optional_positive_int)]


def strings(container: Callable[[Iterable[str]], Any]) -> Any:
    """A list of strings in YAML, held as `container` (list, tuple, frozenset)."""

    def check(value: Any) -> Any:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail("must be a list of strings")
        return container(value)

    return Annotated[Any, PlainValidator(check)]


def choices(allowed: Iterable[str]) -> Any:
    """A list of some of `allowed`, held as a frozenset (None: empty)."""
    names = tuple(allowed)

    def check(value: Any) -> frozenset[str]:
        if value is None:
            return frozenset()
        if not isinstance(value, list) or any(v not in names for v in value):
            fail(f"must be a list of {', '.join(names)}")
        return frozenset(value)

    return Annotated[frozenset[str], PlainValidator(check)]


def list_of(message: str) -> BeforeValidator:
    """Before validating the items: a list (None: empty), else `message`."""

    def check(value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            fail(message)
        return value

    return BeforeValidator(check)


def mapping_of(message: str) -> BeforeValidator:
    """Before validating the entries: a mapping with string keys (None: empty), else
    `message`."""

    def check(value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            fail(message)
        return {str(k): v for k, v in value.items()}

    return BeforeValidator(check)


class Refused:
    """Stands for an unknown or retired key's value (or a required key's missing one) and
    says why it is refused."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Section(BaseModel):
    """A mapping in a config file: unknown keys are rejected with the allowed ones named,
    a missing or empty section takes every default."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    NOT_MAPPING: ClassVar[str] = "must be a mapping"
    UNKNOWN: ClassVar[str] = "unknown key (allowed: {allowed})"
    # keys that are no longer settings, with what replaced them
    REPLACED: ClassVar[dict[str, str]] = {}
    # keys that must be given, with what they hold
    REQUIRED: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            fail(cls.NOT_MAPPING)
        allowed = sorted(f.alias or name for name, f in cls.model_fields.items())
        data = dict(data)
        for key in data:  # pydantic reports each as extra_forbidden, with this reason
            if key in cls.REPLACED:
                data[key] = Refused(cls.REPLACED[key])
            elif key not in allowed:
                data[key] = Refused(cls.UNKNOWN.format(allowed=", ".join(allowed)))
        for key, what in cls.REQUIRED.items():
            if key not in data:  # its validator rejects the stand-in, with this reason
                data[key] = Refused(f"required ({what})")
        return data

    def given(self) -> dict[str, Any]:
        """The settings the file gave (the others keep the runtime object's defaults)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


def dotted(path: str, loc: Iterable[Any]) -> str:
    """`detectors.bulk_export.allowlist.actor_patterns[0]` from a path and a pydantic loc."""
    out = path
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def reason(error: Mapping[str, Any]) -> str:
    """What is wrong, in the words of the check that failed (`fail`, `Refused`)."""
    if error["type"] == "missing":
        return "required"
    if isinstance(error.get("input"), Refused):
        return error["input"].reason
    return error["msg"].removeprefix("Value error, ")


def problems(exc: ValidationError, where: str, path: str = "") -> list[str]:
    """One `file: key: reason` line per error pydantic found."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        message = reason(error)
        lines.append(f"{where}: {dotted(path, loc) or '(top level)'}: {message}")
    return lines


def validate(model: type[M], data: Any, where: str, path: str = "") -> M:
    """`data` as `model`, or a ConfigError listing every problem found."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(*problems(exc, where, path)) from None
