"""The base of every config model: unknown keys are refused (a typo is an error, never a silent
default) and a loaded config never changes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
