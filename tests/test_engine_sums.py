"""The ledger's group sums (core/sums.py) are bit for bit pandas' group-bys: of each scenario's
own rows, and of the whole ledger, for every order of rows and every row selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from omplan.apps.cli import sample_plan_path
from omplan.core import sums as sums_module
from omplan.core.engine import evaluate
from omplan.core.model import ACTIVITIES, ACTIVITY_KIND, COMPONENTS, SOURCINGS
from omplan.core.sums import SELECTIONS, LedgerSums, group_sums
from omplan.files.run import run_plan

KEYS = [["kind"], ["component"], ["activity"], ["sourcing"], ["quarter", "kind"],
        ["quarter", "component"]]


def ledger_like(seed: int, shuffle: bool = False) -> pd.DataFrame:
    """A ledger in the engine's order (component by component, each scenario after scenario)
    with amounts over many magnitudes, where plain and compensated sums differ. Scenario 1
    has no transition rows (its component ids never decrease) and scenario 2 only maintenance
    rows (its kind ids never decrease); ``shuffle``: the rows in random order."""
    rng = np.random.default_rng(seed)
    parts = []
    for component in ("labour", "vendor_management", "transition", "coordination", "other"):
        for s in range(4):
            if component == "transition" and s in (0, 1):
                continue
            n = int(rng.integers(50, 400))
            activity = rng.integers(4 if s == 2 else 0, 8, n)
            parts.append(pd.DataFrame({
                "scenario": s, "quarter": rng.integers(0, 8, n), "activity": activity,
                "component": COMPONENTS.index(component),
                "sourcing": rng.integers(0, 3, n) if component != "coordination" else 3,
                "amount": rng.random(n) * 10.0 ** rng.integers(-6, 9, n)}))
    frame = pd.concat(parts, ignore_index=True)
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    kinds = np.array([ACTIVITY_KIND[a].value == "maintenance" for a in ACTIVITIES])
    cats = {"scenario": ["Baseline", "A", "B", "C"],
            "quarter": [f"FY{2027 + k // 4} Q{k % 4 + 1}" for k in range(8)],
            "activity": list(ACTIVITIES), "component": list(COMPONENTS),
            "sourcing": [*SOURCINGS, ""], "kind": ["operation", "maintenance"]}
    codes = {c: frame[c].to_numpy() for c in cats if c != "kind"}
    codes["kind"] = kinds[codes["activity"]].astype(int)
    out = {c: pd.Categorical.from_codes(codes[c], categories=cats[c]) for c in cats}
    return pd.DataFrame({**out, "amount": frame["amount"].to_numpy()})


def selected(ledger: pd.DataFrame, where: str | None) -> np.ndarray:
    rows = np.ones(len(ledger), dtype=bool)
    for column, values, inside in SELECTIONS.get(where, ()):
        rows &= ledger[column].isin(list(values)).to_numpy() == inside
    return rows


def check(ledger: pd.DataFrame, keys: list[str], where: str | None) -> None:
    got = LedgerSums(ledger).by(keys, where)
    rows = ledger[selected(ledger, where)]
    whole = rows.groupby(["scenario", *keys], observed=False)["amount"].sum()
    assert (got.whole.ravel() == whole.to_numpy()).all(), (keys, where)
    for k, name in enumerate(ledger["scenario"].cat.categories):
        own = rows[rows["scenario"] == name].groupby(keys, observed=False)["amount"].sum()
        assert (got.scenario[k].ravel() == own.to_numpy()).all(), (keys, where, name)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("where", [None, "labour", "external labour", "outsourced labour",
                                   "transition"])
def test_sums_are_pandas_group_bys_bit_for_bit(shuffle, where):
    ledger = ledger_like(3, shuffle)
    for keys in KEYS:
        check(ledger, keys, where)


def test_the_sums_would_differ_if_added_another_way():
    """The test above has teeth: plain sums of these amounts differ from pandas' in the last
    bits, and scenarios 1 and 2 take pandas' other way of adding (by runs)."""
    ledger = ledger_like(3)
    sums = LedgerSums(ledger).by(["component"])
    plain = np.bincount(sums_module.LedgerSums(ledger).codes("scenario").astype(np.intp) * 5
                        + ledger["component"].cat.codes.to_numpy(),
                        ledger["amount"].to_numpy(), 20).reshape(4, 5)
    assert (sums.scenario != plain).any()
    assert (sums.scenario[1] != sums.whole[1]).any()  # its own rows: reduceat, not Kahan
    assert LedgerSums(ledger).by(["kind"]).scenario[2, 0] == 0  # only maintenance rows


def test_without_pandas_kernel_the_public_path_gives_the_same(monkeypatch):
    ledger = ledger_like(5)
    fast = {(tuple(k), w): LedgerSums(ledger).by(k, w) for k in KEYS
            for w in (None, "external labour")}
    monkeypatch.setattr(sums_module, "_kernel_agrees", lambda: False)
    for (keys, where), want in fast.items():
        got = LedgerSums(ledger).by(list(keys), where)
        assert (got.scenario == want.scenario).all() and (got.whole == want.whole).all()


def test_group_sums_of_ids_that_never_decrease_take_pandas_reduceat_path():
    rng = np.random.default_rng(0)
    values = rng.random(1000) * 10.0 ** rng.integers(-8, 8, 1000)
    for ids in (np.sort(rng.integers(0, 6, 1000)), rng.integers(0, 6, 1000)):
        want = pd.Series(values).groupby(pd.Categorical.from_codes(
            ids, categories=range(6))).sum().to_numpy()
        assert (group_sums(values, ids.astype(np.intp), 6) == want).all()


def test_an_evaluated_plan_sums_like_its_scenarios_group_bys():
    ledger = evaluate(run_plan(sample_plan_path()).plan).ledger
    for keys in KEYS:
        for where in (None, "labour", "external labour"):
            check(ledger, keys, where)


@pytest.mark.parametrize("shuffle", [False, True])
def test_groupings_summed_together_are_the_groupings_summed_alone(shuffle):
    ledger = ledger_like(7, shuffle)
    groupings = [("kind", None), ("component", None), ("sourcing", "labour"),
                 ("activity", "external labour")]
    together = LedgerSums(ledger).by_each(groupings)
    for (key, where), got in zip(groupings, together, strict=True):
        check(ledger, [key], where)  # pandas' own group-bys
        alone = LedgerSums(ledger).by([key], where)
        assert (got.scenario == alone.scenario).all() and (got.whole == alone.whole).all()


def test_groupings_that_share_their_groups_summed_together():
    ledger = ledger_like(9, shuffle=False)
    together = LedgerSums(ledger).by_each([(None, None), (None, "external labour"),
                                           ("kind", "labour")], label=["quarter"])
    for (key, where), got in zip([(None, None), (None, "external labour"), ("kind", "labour")],
                                 together, strict=True):
        keys = ["quarter"] if key is None else ["quarter", key]
        check(ledger, keys, where)
        alone = LedgerSums(ledger).by(keys, where)
        assert (got.scenario == alone.scenario).all() and (got.whole == alone.whole).all()
