"""Checks of one config value each: raise ``ValueError`` naming the field, the value found
and the accepted range (``config.SASRecConfig.validate`` calls them)."""

from __future__ import annotations

from typing import Any


def is_number(value: Any) -> bool:
    """A real number: an int or a float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def int_at_least(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def number_in(name: str, value: Any, low: float, high: float, upper_open: bool = False) -> None:
    bad = not is_number(value) or value < low or value > high
    if upper_open and is_number(value) and value >= high:
        bad = True
    if bad:
        bracket = ")" if upper_open else "]"
        raise ValueError(f"{name} must be a number in [{low}, {high}{bracket}, got {value!r}")
