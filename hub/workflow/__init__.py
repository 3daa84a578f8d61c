"""The workflow configuration: teams, stages, transitions, SLAs, policy and reasons, from TOML.

`model` holds the frozen values, `validate` turns parsed TOML into them with every error named,
`calendar` runs SLA clocks on a team's business hours, and `default.toml` is the built-in default.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from hub.workflow.model import (
    CHANNELS,
    CUSTOMER_MESSAGES,
    RESOLUTIONS,
    WEEKDAYS,
    Alerts,
    ConfigError,
    Policy,
    RejectionReason,
    Shop,
    Sla,
    Stage,
    Team,
    Workflow,
)
from hub.workflow.validate import Validator

__all__ = [
    "CHANNELS",
    "CUSTOMER_MESSAGES",
    "RESOLUTIONS",
    "WEEKDAYS",
    "Alerts",
    "ConfigError",
    "Policy",
    "RejectionReason",
    "Shop",
    "Sla",
    "Stage",
    "Team",
    "Workflow",
    "load_workflow",
    "parse_workflow",
]


def load_workflow(path: str | Path | None = None) -> Workflow:
    """Load and validate a workflow file, or the built-in default when path is None."""
    if path is None:
        text = resources.files("hub.workflow").joinpath("default.toml").read_text("utf-8")
        return parse_workflow(text, source="<built-in default>")
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(str(p), [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), [f"the file is not UTF-8 text: {exc}"]) from None
    return parse_workflow(text, source=str(p))


def parse_workflow(text: str, source: str = "<string>") -> Workflow:
    """Parse TOML text into a Workflow, raising ConfigError with every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    return Validator(source).workflow(data)
