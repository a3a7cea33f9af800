"""The clocks: the default SLA, ordered SLA policies with their match (e.g. paid topics), the
working hours a clock may count, and the credits owed for a breached stage."""

from __future__ import annotations

from datetime import date, time, timedelta

from pydantic import Field, ValidationInfo, field_validator, model_validator

from forumwatch.config.strict import Strict as _Strict
from forumwatch.config.values import (
    WEEKDAYS,
    CategoryRefs,
    Duration,
    PositiveDuration,
    format_duration,
    known_zone,
)
from forumwatch.model import BusinessHours, Sla, SlaPolicy


class SlaConfig(_Strict):
    acknowledge: PositiveDuration = timedelta(hours=2)
    diagnose: PositiveDuration = timedelta(hours=24)
    follow_up: PositiveDuration = timedelta(hours=24)
    escalate_after: Duration = timedelta(hours=22)  # 0: quality staff hear as soon as it is due

    @field_validator("diagnose")
    @classmethod
    def _diagnose_after_acknowledge(cls, diagnose: timedelta, info: ValidationInfo) -> timedelta:
        acknowledge = info.data.get("acknowledge")
        if acknowledge is not None and diagnose < acknowledge:
            ack = format_duration(acknowledge)
            raise ValueError(
                f"{format_duration(diagnose)} is shorter than acknowledge ({ack}); "
                f"make it at least {ack}"
            )
        return diagnose

    @model_validator(mode="after")
    def _default_diagnose_after_acknowledge(self) -> SlaConfig:
        if "diagnose" not in self.model_fields_set and self.diagnose < self.acknowledge:
            ack = format_duration(self.acknowledge)
            raise ValueError(
                f"acknowledge {ack} is longer than the default diagnose "
                f"({format_duration(self.diagnose)}); add diagnose: {ack} or more"
            )
        return self


class CreditsConfig(_Strict):
    """Loyalty compensation booked to a topic's author for each SLA stage the platform breached."""

    unit: str = Field(default="credit", min_length=1)  # e.g. consultation, UAH, hour
    acknowledge: float = Field(default=0, ge=0)
    diagnose: float = Field(default=0, ge=0)
    follow_up: float = Field(default=0, ge=0)


class PolicyMatch(_Strict):
    """Which topics a policy holds: every given condition must hold; within one, any value."""

    tags: list[str] = Field(default_factory=list)
    categories: CategoryRefs = Field(default_factory=list)  # slugs or ids
    apps: list[str] = Field(default_factory=list)
    forums: list[str] = Field(default_factory=list)

    def condition(self) -> dict[str, frozenset[str]]:
        """The given conditions, casefolded: what shadowing compares."""
        return {
            key: frozenset(v.casefold() for v in values)
            for key, values in self.model_dump().items()
            if values
        }


class SlaPolicyConfig(_Strict):
    """One `sla_policies:` entry: its own clock for the topics it matches (e.g. paid topics).
    An omitted target falls back to the SLA the forum would otherwise use."""

    name: str = Field(min_length=1)
    match: PolicyMatch = Field(default_factory=PolicyMatch)
    acknowledge: PositiveDuration | None = None
    diagnose: PositiveDuration | None = None
    follow_up: PositiveDuration | None = None
    escalate_after: Duration | None = None
    business_hours: bool = True  # false: calendar time (24/7) on a forum with business_hours
    credits: CreditsConfig | None = None  # its own units and amounts

    @model_validator(mode="after")
    def _diagnose_after_acknowledge(self) -> SlaPolicyConfig:
        if self.acknowledge and self.diagnose and self.diagnose < self.acknowledge:
            ack = format_duration(self.acknowledge)
            raise ValueError(
                f"diagnose {format_duration(self.diagnose)} is shorter than acknowledge "
                f"({ack}); make it at least {ack}"
            )
        return self

    def to_model(self, default: Sla) -> SlaPolicy:
        sla = Sla(
            acknowledge=self.acknowledge or default.acknowledge,
            diagnose=self.diagnose or default.diagnose,
            follow_up=self.follow_up or default.follow_up,
            escalate_after=default.escalate_after
            if self.escalate_after is None
            else self.escalate_after,
            business_hours=default.business_hours if self.business_hours else None,
        )
        match = self.match
        return SlaPolicy(
            self.name,
            sla,
            tags=frozenset(match.tags),
            categories=frozenset(match.categories),
            apps=frozenset(match.apps),
            forums=frozenset(match.forums),
        )


class BusinessHoursConfig(_Strict):
    timezone: str = "UTC"
    start: time = time(9, 0)
    end: time = time(18, 0)
    days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _business_zone(cls, zone: str) -> str:
        return known_zone(zone)

    @field_validator("days")
    @classmethod
    def _weekday_names(cls, days: list[str]) -> list[str]:
        if not days:
            raise ValueError("needs at least one working day, e.g. [mon, tue, wed, thu, fri]")
        bad = [d for d in days if d.lower()[:3] not in WEEKDAYS]
        if bad:
            raise ValueError(f"{bad} are not weekdays; use mon, tue, wed, thu, fri, sat, sun")
        return [d.lower()[:3] for d in days]

    @model_validator(mode="after")
    def _opens_before_closing(self) -> BusinessHoursConfig:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    def to_model(self) -> BusinessHours:
        return BusinessHours(
            timezone=self.timezone,
            start=self.start,
            end=self.end,
            weekdays=frozenset(WEEKDAYS.index(d) for d in self.days),
            holidays=frozenset(d.isoformat() for d in self.holidays),
        )
