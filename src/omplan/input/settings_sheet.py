"""The Settings sheet -> :class:`~omplan.core.model.Settings`, each value typed by its entry of
the one settings schema (:mod:`omplan.core.settings`)."""

from __future__ import annotations

import math
import re
from typing import Any

from omplan.core.findings import has_errors
from omplan.core.model import Settings
from omplan.core.periods import Horizon
from omplan.core.settings import SETTING_KEYS, SETTINGS_BY_KEY, SettingSpec, month_number
from omplan.input.reading import Reading, SettingsRead
from omplan.input.tables import (
    Collector,
    Row,
    Table,
    currency_code,
    describe,
    is_blank,
    looks_numeric,
)

__all__ = ["read_settings", "setting_key"]


def setting_key(text: Any) -> str:
    """A Settings row's key as the schema spells it: 'Band low', 'band-low' -> 'band_low'."""
    return re.sub(r"[\s\-]+", "_", str(text).strip()).casefold()


def read_settings(table: Table, reading: Reading) -> SettingsRead:
    """The Settings rows into ``reading.settings`` (returned): the settings when every value
    is right, and the horizon and currency that the other sheets need even when one is not."""
    out = reading.out
    read = reading.settings
    values: dict[str, Any] = {}
    seen: dict[str, str] = {}
    value_refs = read.refs
    wrong: set[str] = set()  # keys whose value is reported wrong
    before = len(out.findings)
    for row in reading.rows(table):
        key_text = row.get("Setting")
        if not key_text:
            continue
        key = setting_key(key_text)
        spec = SETTINGS_BY_KEY.get(key)
        if spec is None:
            out.warning("unknown-setting", f"unknown setting '{key_text}' is ignored "
                        f"(known: {', '.join(SETTING_KEYS)})", row.ref("Setting"))
            continue
        if key in seen:
            out.error("duplicate", f"setting '{key}' is given twice (first at {seen[key]})",
                      row.ref("Setting"))
            continue
        seen[key] = row.ref("Setting")
        value_refs[key] = row.ref("Value")
        count = len(out.findings)
        value = read_setting(row, spec, out)
        if has_errors(out.findings[count:]):
            wrong.add(key)
        elif value is not None:
            values[key] = value
    if "fiscal_year" not in values and "fiscal_year" not in seen:  # the one required setting
        out.error("missing-setting", "setting fiscal_year is required (e.g. 2027): add a row "
                  "'fiscal_year' with the year",
                  table.grid.ref(table.header_r, table.cols["Setting"]))
    if "fiscal_year" in values and not wrong & {"horizon_years", "fy_start_month"}:
        default = Settings(plan_name=reading.stem, fiscal_year=values["fiscal_year"])
        read.horizon = Horizon(values["fiscal_year"],
                               values.get("horizon_years", default.horizon_years),
                               values.get("fy_start_month", default.fy_start_month))
    if "currency" not in wrong:
        read.currency = values.get("currency", SETTINGS_BY_KEY["currency"].default)
    read.budget_scenario = values.get("budget_scenario", read.budget_scenario)
    if len(out.findings) > before and has_errors(out.findings[before:]):
        return read
    settings = Settings(plan_name=values.pop("plan_name", None) or reading.stem, **values)
    if settings.band_low >= settings.band_high:
        where = value_refs.get("band_low", value_refs.get("band_high", ""))
        low, high = (f"{getattr(settings, key):g}" + ("" if key in values else ", the default")
                     for key in ("band_low", "band_high"))
        out.error("bad-band", f"band_low ({low}) must be below band_high ({high}): the band "
                  "is the range of the operation share, e.g. 0.40 to 0.60", where)
        return read
    read.settings = settings
    return read


def read_setting(row: Row, spec: SettingSpec, out: Collector) -> Any:
    """The typed value of one Settings row by its schema entry; None when blank or wrong."""
    label = f"setting {spec.key}"
    if spec.kind == "text":
        return row.text("Value", label, required=False) or None
    if spec.kind == "currency":
        text = row.text("Value", label, required=False)
        if not text:
            return None
        code = currency_code(text)
        if code is None:
            out.error("bad-currency", f"currency must be a three-letter ISO 4217 code "
                      f"such as USD or EUR, got '{text}'", row.ref("Value"))
        return code
    if spec.kind in ("integer", "month"):
        assert spec.minimum is not None and spec.maximum is not None
        lo, hi = int(spec.minimum), int(spec.maximum)
        raw = row.raw("Value")
        if spec.kind == "month" and isinstance(raw, str) and not is_blank(raw) \
                and not looks_numeric(raw):
            month = month_number(raw)
            if month is None and not row.special("Value", label):
                out.error("not-a-number", f"{label} must be a month, 1 to 12 or a name such as "
                          f"April or Apr, got {describe(raw)}", row.ref("Value"))
            return month
        number = row.number("Value", label, minimum=lo,
                            blank=None if spec.required else math.nan)
        if number is None or math.isnan(number):
            return None
        if not number.is_integer() or number > hi:
            out.error("out-of-range", f"{label} must be a whole number from {lo} to {hi}, "
                      f"got {number:g}", row.ref("Value"))
            return None
        return int(number)
    number = row.number("Value", label, blank=math.nan, fraction=spec.kind == "fraction")
    if number is None or math.isnan(number):
        return None
    if spec.maximum is not None and number > spec.maximum:
        out.error("out-of-range", f"{label} must be a number from {spec.minimum:g} to "
                  f"{spec.maximum:g}, got {number:g}", row.ref("Value"))
        return None
    return number
