"""The package model of an .xlsx/.xlsm file, shared by the safety scan and the writeback graft:
part names, relationships and the workbook's sheet list, resolved one way for both.

An Office Open XML file is a zip of *parts*; a part's relationships (``_rels/<part>.rels``)
point at other parts by a target relative to it. Part names ignore case (the zip's spelling
is used when it differs), and producers percent-encode some targets, so a target is looked up
unquoted and then as written. Pure: the caller hands over the part names and a way to read
a part (a zip it opened, or raw zip records).
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple
from urllib.parse import unquote

from lxml import etree

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
#: The package relationship to the main part (the workbook), transitional and strict.
OFFICE_DOCUMENT = (REL_NS + "/officeDocument",
                   "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument")
CONTENT_TYPES_PART = "[Content_Types].xml"


class PackageError(Exception):
    """A part is missing or does not parse (each reader words it for its own user)."""


class Relationship(NamedTuple):
    """One relationship of a part."""

    rid: str
    type: str
    #: the part it points at (as the zip spells it when that part exists), or for an
    #: external relationship the address as written
    target: str
    external: bool


class SheetRef(NamedTuple):
    """A ``<sheet>`` entry of the workbook part."""

    name: str
    sheet_id: str  # as written (a number, in a valid workbook)
    rid: str  # its relationship id ('' when it has none)
    state: str  # visible, hidden or veryHidden


def local(tag: object) -> str:
    """An element's or attribute's name without its namespace."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def external(rel: Any) -> bool:
    """Whether a ``<Relationship>`` element points outside the package."""
    return (rel.get("TargetMode") or "").casefold() == "external"


def rels_name(part: str) -> str:
    """The relationships part of ``part`` (``''``: the package's own, ``_rels/.rels``)."""
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def rels_source(rels: str) -> str:
    """The part whose relationships ``rels`` holds (the inverse of :func:`rels_name`)."""
    folder, base = posixpath.split(rels)
    return posixpath.join(posixpath.dirname(folder), base[:-len(".rels")])


def resolve(source: str, target: str) -> str:
    """The part name a relationship of ``source`` with ``target`` points at, unquoted (an
    absolute target is from the package root; backslashes, which some producers write, are
    path separators)."""
    target = unquote(target).replace("\\", "/")
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relative(source: str, part: str) -> str:
    """The target by which ``source`` refers to ``part``."""
    return posixpath.relpath(part, posixpath.dirname(source) or ".")


def sheet_ref(elem: Any) -> SheetRef:
    """The entry of one ``<sheet>`` element (its relationship id in whatever namespace)."""
    rid = ""
    for key, value in elem.attrib.items():
        if key.startswith("{") and local(key) == "id":
            rid = value
    return SheetRef(elem.get("name") or "", elem.get("sheetId") or "", rid,
                    elem.get("state") or "visible")


def _relationships(xml: bytes) -> Iterator[Any]:
    """The ``<Relationship>`` elements of a relationships part, parsed without entities or
    network access, each freed once looked at."""
    for _event, elem in etree.iterparse(io.BytesIO(xml), events=("end",), tag="{*}Relationship",
                                        resolve_entities=False, no_network=True,
                                        load_dtd=False, huge_tree=True):
        yield elem
        elem.clear()


class Package:
    """A package's parts by name and the relationships between them.

    ``names`` are the zip's member names; ``read`` returns a member's bytes by its exact name.
    Subclasses word the two problems (:meth:`missing`, :meth:`unparsable`) for their user.
    """

    def __init__(self, names: Iterable[str], read: Callable[[str], bytes]) -> None:
        self._read = read
        self._names = set(names)
        self._folded = {n.casefold(): n for n in self._names}
        self._rels: dict[str, list[Relationship]] = {}

    def missing(self, part: str) -> Exception:
        """The error for a part that is not in the package."""
        return PackageError(f"the part {part} is missing")

    def unparsable(self, part: str, exc: Exception) -> Exception:
        """The error for a part that is not well-formed XML."""
        return PackageError(f"the part {part} cannot be parsed ({exc})")

    def find(self, part: str) -> str | None:
        """The member name of ``part``: exactly as named, else ignoring case."""
        if part in self._names:
            return part
        return self._folded.get(part.casefold())

    def has(self, part: str) -> bool:
        return self.find(part) is not None

    def actual(self, part: str) -> str:
        """``part`` as the zip spells it (``part`` itself when there is no such member)."""
        return self.find(part) or part

    def read(self, part: str) -> bytes:
        member = self.find(part)
        if member is None:
            raise self.missing(part)
        return self._read(member)

    def target(self, source: str, written: str) -> str:
        """The part a relationship of ``source`` with target ``written`` points at, as the
        zip spells it: unquoted, else as written (a producer that kept the percent-encoding
        in its member names); a part that is absent keeps its unquoted name."""
        name = resolve(source, written)
        found = self.find(name)
        if found is None and "%" in written:
            found = self.find(posixpath.normpath(posixpath.join(
                posixpath.dirname(source), written.replace("\\", "/"))).lstrip("/"))
        return found or name

    def rels(self, part: str) -> list[Relationship]:
        """The relationships of ``part`` (none when it has no relationships part)."""
        if part in self._rels:
            return self._rels[part]
        name = rels_name(part)
        found: list[Relationship] = []
        if self.has(name):
            xml = self.read(name)
            try:
                for rel in _relationships(xml):
                    written = rel.get("Target") or ""
                    outside = external(rel)
                    found.append(Relationship(
                        rel.get("Id") or "", rel.get("Type") or "",
                        written if outside else self.target(part, written), outside))
            except etree.XMLSyntaxError as exc:
                raise self.unparsable(self.actual(name), exc) from None
        self._rels[part] = found
        return found

    def main_part(self) -> str | None:
        """The workbook part, by the package's own relationship to it."""
        return next((r.target for r in self.rels("") if not r.external
                     and r.type in OFFICE_DOCUMENT), None)
