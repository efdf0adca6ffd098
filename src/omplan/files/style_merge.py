"""The report's cell formats merged into the user's styles part: fonts, fills, borders,
number formats, cell formats and differential formats appended (the user's keep their
numbers), an equal one of the user's reused.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from omplan.files.book import MAIN_NS, canon, child, ensure, parse_xml
from omplan.input.opc import local

_STYLE_ORDER = ["numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs",
                "cellStyles", "dxfs", "tableStyles", "colors", "extLst"]


class Styles:
    """The user's styles part with the report's formats appended on demand."""

    def __init__(self, user: bytes | None, name: str, report: Any) -> None:
        self.report = report
        self.fresh = user is None
        self.root = report if user is None else parse_xml(user, name)
        self.ns = self.root.tag.split("}")[0][1:]
        self.maps: dict[str, dict[int, int]] = {}
        self.num_fmts: dict[int, str] = {}
        self.changed = False
        num_fmts = child(self.root, "numFmts")
        for nf in (num_fmts if num_fmts is not None else []):
            if local(nf.tag) == "numFmt" and (nf.get("numFmtId") or "").isdigit():
                self.num_fmts[int(nf.get("numFmtId"))] = nf.get("formatCode") or ""
        self.report_fmts = {int(nf.get("numFmtId")): nf.get("formatCode") or ""
                            for nf in self.report.iter(f"{{{MAIN_NS}}}numFmt")}

    def _items(self, root: Any, collection: str, item: str) -> list[Any]:
        found = child(root, collection)
        return [] if found is None else [c for c in found if local(c.tag) == item]

    def _add(self, collection: str, item: str, el: Any) -> int:
        """Index of an equal item of the user's, else of ``el`` appended."""
        mine = self._items(self.root, collection, item)
        key = canon(el)
        for i, existing in enumerate(mine):
            if canon(existing) == key:
                return i
        parent = ensure(self.root, collection, _STYLE_ORDER, self.ns)
        parent.append(el)
        parent.set("count", str(len(mine) + 1))
        self.changed = True
        return len(mine)

    def _mapped(self, collection: str, item: str, index: int) -> int:
        cache = self.maps.setdefault(collection, {})
        if index not in cache:
            theirs = self._items(self.report, collection, item)
            if index >= len(theirs):
                cache[index] = 0
            else:
                cache[index] = self._add(collection, item, copy.deepcopy(theirs[index]))
        return cache[index]

    def num_fmt(self, fmt_id: int) -> int:
        cache = self.maps.setdefault("numFmts", {})
        if fmt_id in cache:
            return cache[fmt_id]
        if fmt_id < 164:
            code = _builtin_format(fmt_id)
            if fmt_id not in self.num_fmts or code is None:
                cache[fmt_id] = fmt_id
                return fmt_id
        else:
            code = self.report_fmts.get(fmt_id, "General")
        same = [i for i, c in self.num_fmts.items() if c == code and i >= 164]
        if same:
            cache[fmt_id] = min(same)
            return cache[fmt_id]
        new_id = max([163, *self.num_fmts]) + 1
        el = etree.Element(f"{{{self.ns}}}numFmt", numFmtId=str(new_id), formatCode=code)
        parent = ensure(self.root, "numFmts", _STYLE_ORDER, self.ns)
        parent.append(el)
        self.num_fmts[new_id] = code
        parent.set("count", str(len(self._items(self.root, "numFmts", "numFmt"))))
        self.changed = True
        cache[fmt_id] = new_id
        return new_id

    def xf(self, index: int) -> int:
        """The user's cell format index for the report's ``index``."""
        if self.fresh:
            return index
        cache = self.maps.setdefault("cellXfs", {})
        if index in cache:
            return cache[index]
        theirs = self._items(self.report, "cellXfs", "xf")
        if index >= len(theirs):
            cache[index] = 0
            return 0
        el = copy.deepcopy(theirs[index])
        for attr, collection, item in (("fontId", "fonts", "font"), ("fillId", "fills", "fill"),
                                       ("borderId", "borders", "border")):
            if el.get(attr) is not None:
                el.set(attr, str(self._mapped(collection, item, int(el.get(attr)))))
        if el.get("numFmtId") is not None:
            el.set("numFmtId", str(self.num_fmt(int(el.get("numFmtId")))))
        if self._items(self.root, "cellStyleXfs", "xf"):
            el.set("xfId", "0")  # the user's Normal style; the format itself is complete
        else:
            el.attrib.pop("xfId", None)
        cache[index] = self._add("cellXfs", "xf", el)
        return cache[index]

    def dxf(self, index: int) -> int:
        if self.fresh:
            return index
        return self._mapped("dxfs", "dxf", index)


def _builtin_format(fmt_id: int) -> str | None:
    from openpyxl.styles.numbers import BUILTIN_FORMATS

    return BUILTIN_FORMATS.get(fmt_id)

