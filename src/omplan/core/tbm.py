"""The ledger in the shape of the TBM taxonomy (spec §13): one row per scenario, fiscal year,
quarter, system, role, level, sourcing, vendor, activity and cost component with a non-zero
amount, each with its cost pool, cost sub-pool, tower and sub-tower.

Pure: the taxonomy (its lists of names and the shipped mapping) and the overrides of a plan's
``TBM`` sheet come in as :class:`TbmTaxonomy` and :class:`TbmRule` values; loading the shipped
data files and reading the sheet is :mod:`omplan.input.tbm`, writing the CSV
:mod:`omplan.files.tbm`. Every amount is a sum of ledger rows, so the rows of a scenario add up
to its total and, by activity, to its ``by_activity``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from omplan.core.ledger import Evaluation

#: The CSV's columns, in order.
TBM_COLUMNS: tuple[str, ...] = (
    "scenario", "fiscal_year", "quarter", "solution", "role", "level", "sourcing", "vendor",
    "activity", "component", "cost_pool", "cost_sub_pool", "tower", "sub_tower", "amount",
    "currency",
)
#: What a mapping row matches on (blank = any).
RULE_KEYS: tuple[str, ...] = ("activity", "component", "sourcing", "level", "billing_basis")
#: The ledger columns a TBM row is keyed by (``solution`` is the ledger's ``system``).
_LEDGER_KEYS = ("scenario", "quarter", "system", "role", "level", "sourcing", "vendor",
                "activity", "component")


@dataclass(frozen=True, slots=True)
class TbmRule:
    """One mapping row: the ledger rows it matches (blank = any) and what it assigns (blank =
    no say). ``location`` is the TBM sheet row it came from ('' for the shipped mapping)."""

    activity: str = ""
    component: str = ""
    sourcing: str = ""
    level: str = ""
    billing_basis: str = ""
    cost_pool: str = ""
    cost_sub_pool: str = ""
    tower: str = ""
    sub_tower: str = ""
    location: str = ""

    def matches(self, key: Sequence[str]) -> bool:
        """Does a ledger row with (activity, component, sourcing, level, billing basis)
        ``key`` fall under this row?"""
        mine = (self.activity, self.component, self.sourcing, self.level, self.billing_basis)
        return all(not want or want == have for want, have in zip(mine, key, strict=True))


@dataclass(frozen=True)
class TbmTaxonomy:
    """One version of the TBM taxonomy as omplan ships it: the names of its cost pools (with
    their sub-pools, where the version's public documents list them) and towers (with their
    sub-towers), and the default mapping of omplan's ledger onto them."""

    version: str
    cost_pools: Mapping[str, tuple[str, ...]]
    towers: Mapping[str, tuple[str, ...]]
    rules: tuple[TbmRule, ...]

    @property
    def sub_pools_listed(self) -> bool:
        """Whether this version's sub-pools are shipped (and checked)."""
        return any(self.cost_pools.values())

    def tower_of(self, sub_tower: str) -> str | None:
        """The tower a sub-tower belongs to (None if it is no sub-tower of this version)."""
        for tower, subs in self.towers.items():
            if sub_tower in subs:
                return tower
        return None


@dataclass(frozen=True, slots=True)
class TbmClass:
    """Where a ledger row goes in the taxonomy."""

    cost_pool: str
    cost_sub_pool: str
    tower: str
    sub_tower: str


def _pair(rules: Sequence[TbmRule], key: Sequence[str], first: str,
          second: str) -> tuple[str, str]:
    """(first, second) of the first matching rule that sets either; a blank second is taken
    from a later matching rule that sets the same first (an override naming only a tower keeps
    the shipped sub-tower when it is of that tower)."""
    for i, rule in enumerate(rules):
        a, b = getattr(rule, first), getattr(rule, second)
        if not (a or b) or not rule.matches(key):
            continue
        if a and not b:
            for later in rules[i + 1:]:
                if getattr(later, first) == a and getattr(later, second) and later.matches(key):
                    b = getattr(later, second)
                    break
        return a, b
    return "", ""


def classify(taxonomy: TbmTaxonomy, key: Sequence[str],
             overrides: Sequence[TbmRule] = ()) -> TbmClass:
    """The cost pool, sub-pool, tower and sub-tower of ledger rows with (activity, component,
    sourcing, level, billing basis) ``key``: the plan's TBM sheet rows first (in sheet order),
    then the shipped mapping; the first row that says something about the pool (or the tower)
    decides it."""
    rules = (*overrides, *taxonomy.rules)
    pool, sub_pool = _pair(rules, key, "cost_pool", "cost_sub_pool")
    tower, sub_tower = _pair(rules, key, "tower", "sub_tower")
    return TbmClass(pool, sub_pool, tower, sub_tower)


def _codes(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), [str(c) for c in series.cat.categories]
    codes, uniques = pd.factorize(series)
    return codes, [str(u) for u in uniques]


def tbm_frame(evaluation: Evaluation, taxonomy: TbmTaxonomy,
              overrides: Sequence[TbmRule] = ()) -> pd.DataFrame:
    """The TBM rows of every scenario, in ledger order, as a DataFrame with :data:`TBM_COLUMNS`
    (text columns categorical). Rows of one key add up; rows whose amount is 0 are left out."""
    plan = evaluation.plan
    ledger = evaluation.ledger
    grouped = ledger.groupby(list(_LEDGER_KEYS), observed=True, sort=False)["amount"].sum()
    frame = grouped.reset_index()
    frame = frame[frame["amount"].to_numpy() != 0].reset_index(drop=True)
    n = len(frame)
    # the period axis: category code k of the ledger's quarter column is the period index
    k = frame["quarter"].cat.codes.to_numpy().astype(np.int64)
    fiscal_year = plan.settings.fiscal_year + k // 4
    quarter = pd.Categorical.from_codes(k % 4, categories=["Q1", "Q2", "Q3", "Q4"])
    # classify each distinct (activity, component, sourcing, level) once
    parts = [_codes(frame[c]) for c in ("activity", "component", "sourcing", "level")]
    combo = np.zeros(n, dtype=np.int64)
    for codes, names in parts:
        combo = combo * (len(names) + 1) + (codes.astype(np.int64) + 1)
    uniques, inverse = np.unique(combo, return_inverse=True)
    first_rows = np.zeros(len(uniques), dtype=np.int64)
    first_rows[inverse[::-1]] = np.arange(n)[::-1]  # a row of each combination
    targets: dict[str, list[str]] = {t: [] for t in ("cost_pool", "cost_sub_pool", "tower",
                                                     "sub_tower")}
    for row in first_rows.tolist():
        activity, component, sourcing, level = (names[codes[row]] if codes[row] >= 0 else ""
                                                for codes, names in parts)
        basis = plan.billing.get(activity, "")
        found = classify(taxonomy, (activity, component, sourcing, level, basis), overrides)
        for target in targets:
            targets[target].append(getattr(found, target))
    data: dict[str, Any] = {
        "scenario": frame["scenario"], "fiscal_year": fiscal_year, "quarter": quarter,
        "solution": frame["system"], "role": frame["role"], "level": frame["level"],
        "sourcing": frame["sourcing"], "vendor": frame["vendor"],
        "activity": frame["activity"], "component": frame["component"],
    }
    for target, values in targets.items():
        labels = list(dict.fromkeys(values))
        codes = np.array([labels.index(v) for v in values], dtype=np.int64)[inverse]
        data[target] = pd.Categorical.from_codes(codes, categories=labels)
    data["amount"] = frame["amount"].to_numpy()
    data["currency"] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8),
                                                 categories=[plan.settings.currency])
    return pd.DataFrame(data, columns=list(TBM_COLUMNS))


__all__ = ["RULE_KEYS", "TBM_COLUMNS", "TbmClass", "TbmRule", "TbmTaxonomy", "classify",
           "tbm_frame"]
