"""The operator's safety policy: TOML, validated with pydantic, resolved per client.

The built-in `default_policy.toml` is always read first; an operator file is laid over it (a
table's keys replace the default's one by one, a `[[resources.<locale>]]` list replaces that
locale's list). `[clients."<client_id>"]` adjusts `enabled`, `locale` and per-category
`threshold` / `action` for one client. Every mistake is a `SafetyPolicyError` naming the file and
the key ("policy.toml: categories.self_harm.threshold: Input should be less than or equal to 1")."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from emmaus.engine.safety.verdict import CATEGORIES, CRISIS_CATEGORIES, Action

Locale = Literal["us", "uk", "ie", "other"]
LOCALES: tuple[str, ...] = ("us", "uk", "ie", "other")
DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.toml")


class SafetyPolicyError(ValueError):
    """A policy file that cannot be read or does not validate."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_categories(value: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(value) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categories {unknown}; known: {', '.join(CATEGORIES)}")
    return value


class Resource(_Strict):
    name: str = Field(min_length=1)
    contact: str = Field(min_length=1)
    description: str = ""
    url: str | None = None
    categories: tuple[str, ...] = ()
    always: bool = False

    @field_validator("categories")
    @classmethod
    def _crisis_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(CRISIS_CATEGORIES))
        if unknown:
            raise ValueError(
                f"not crisis categories: {unknown}; use {', '.join(CRISIS_CATEGORIES)}"
            )
        return value


class CategoryRule(_Strict):
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    action: Action | None = None


class ClientOverride(_Strict):
    enabled: bool | None = None
    locale: Locale | None = None
    categories: dict[str, CategoryRule] = {}

    @field_validator("categories")
    @classmethod
    def _known(cls, value: dict[str, CategoryRule]) -> dict[str, CategoryRule]:
        return _known_categories(value)


class PolicyFile(_Strict):
    enabled: bool | None = None
    locale: Locale | None = None
    categories: dict[str, CategoryRule] = {}
    resources: dict[Locale, list[Resource]] = {}
    clients: dict[str, ClientOverride] = {}

    @field_validator("categories")
    @classmethod
    def _known(cls, value: dict[str, CategoryRule]) -> dict[str, CategoryRule]:
        return _known_categories(value)


@dataclass(frozen=True, slots=True)
class ClientPolicy:
    """The policy as it applies to one client: everything resolved."""

    enabled: bool
    locale: str
    thresholds: dict[str, float]
    actions: dict[str, Action]
    resources: tuple[Resource, ...]


class SafetyPolicy:
    """A validated policy. `for_client` resolves (and caches) one client's view."""

    def __init__(self, *files: PolicyFile, source: str = "<policy>") -> None:
        self.source = source
        self.enabled = True
        self.locale: str = "us"
        self.thresholds: dict[str, float] = dict.fromkeys(CATEGORIES, 0.5)
        self.actions: dict[str, Action] = {
            c: ("support" if c in CRISIS_CATEGORIES else "refuse") for c in CATEGORIES
        }
        self.resources: dict[str, tuple[Resource, ...]] = {locale: () for locale in LOCALES}
        self.clients: dict[str, ClientOverride] = {}
        for f in files:
            self.enabled = self.enabled if f.enabled is None else f.enabled
            self.locale = f.locale or self.locale
            _apply(f.categories, self.thresholds, self.actions)
            for locale, listed in f.resources.items():
                self.resources[locale] = tuple(listed)
            self.clients.update(f.clients)
        self._cache: dict[str | None, ClientPolicy] = {}

    def for_client(self, client_id: str | None = None) -> ClientPolicy:
        cached = self._cache.get(client_id)
        if cached is not None:
            return cached
        thresholds, actions = dict(self.thresholds), dict(self.actions)
        enabled, locale = self.enabled, self.locale
        override = self.clients.get(client_id) if client_id is not None else None
        if override is not None:
            enabled = enabled if override.enabled is None else override.enabled
            locale = override.locale or locale
            _apply(override.categories, thresholds, actions)
        resolved = ClientPolicy(enabled, locale, thresholds, actions, self.resources[locale])
        if len(self._cache) < 10_000:
            self._cache[client_id] = resolved
        return resolved


def _apply(
    rules: dict[str, CategoryRule], thresholds: dict[str, float], actions: dict[str, Action]
) -> None:
    for category, rule in rules.items():
        if rule.threshold is not None:
            thresholds[category] = rule.threshold
        if rule.action is not None:
            actions[category] = rule.action


def parse_policy(text: str, source: str = "<policy>") -> PolicyFile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SafetyPolicyError(f"{source}: not valid TOML: {exc}") from None
    try:
        return PolicyFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<top>'}: {error['msg']}"
            for error in exc.errors()
        )
        raise SafetyPolicyError(f"{source}: {problems}") from None


_DEFAULT: PolicyFile | None = None


def _default_file() -> PolicyFile:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = parse_policy(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"), "default_policy")
    return _DEFAULT


def default_policy() -> SafetyPolicy:
    return SafetyPolicy(_default_file(), source="default_policy")


def load_policy(path: str | Path | None = None) -> SafetyPolicy:
    """The built-in policy, with the operator file at `path` (if any) laid over it."""
    if path is None:
        return default_policy()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SafetyPolicyError(f"{path}: cannot read the safety policy: {exc.strerror}") from None
    return policy_from_text(text, str(path))


def policy_from_text(text: str, source: str = "<policy>") -> SafetyPolicy:
    operator = parse_policy(text, source)
    policy = SafetyPolicy(_default_file(), operator, source=source)
    for locale, listed in policy.resources.items():
        if not listed:
            raise SafetyPolicyError(f"{source}: resources.{locale}: at least one resource needed")
    return policy
