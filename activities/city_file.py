"""The city file: read it (JSON or YAML, with CSV tables for the long lists of compounds and volunteers), check
it whole before anything is applied, and write it back out.

Every problem is reported with its path in the file (`districts[0].streets[1].code`) and, for YAML and CSV, the
line it is on; a file with any problem changes nothing.
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from i18n.language import _
from schemas.domain import OrgKind
from schemas.registry import City, owners_committee_code

Trail = tuple[str | int, ...]

COMPOUND_COLUMNS = ("community", "code", "name", "name_en", "property_company", "owners_committee", "boundary")
VOLUNTEER_COLUMNS = ("community", "code", "name", "name_en", "employer")
_TABLES = {"compounds": COMPOUND_COLUMNS, "volunteers": VOLUNTEER_COLUMNS}


@dataclass(frozen=True)
class Location:
    source: str
    line: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.source
        return _("%(source)s, line %(line)s") % {"source": self.source, "line": self.line}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where, and what."""

    path: Trail
    message: str
    location: Location | None = None

    @property
    def where(self) -> str:
        if not self.path:
            return str(self.location or "")
        return dotted(self.path) + (f" ({self.location})" if self.location else "")

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class InvalidCity(ValueError):
    """The file has problems; nothing was applied."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def named(city: City, path: Trail) -> Trail:
    """The path with each list index replaced by the code of the entry there: districts.CN.routing."""
    found: list[str | int] = []
    here: object = city
    for part in path:
        if isinstance(part, int) and isinstance(here, list) and part < len(here):
            here = here[part]
            found.append(getattr(here, "code", None) or getattr(here, "name", None) or part)
        else:
            here = here.get(part) if isinstance(here, dict) else getattr(here, str(part), None)
            found.append(part)
    return tuple(found)


def dotted(path: Trail) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "/"


@dataclass
class Document:
    """The file's content as read, and where each entry of it came from."""

    content: Any
    locations: dict[Trail, Location] = field(default_factory=dict)
    source: str = ""

    def locate(self, path: Trail) -> Location | None:
        for end in range(len(path), -1, -1):
            found = self.locations.get(path[:end])
            if found is not None:
                return found
        return None

    def problem(self, path: Trail, message: str) -> Problem:
        return Problem(path, message, self.locate(path))


# ---- reading ---------------------------------------------------------------------------------------------------


def read(path: Path, *, compounds: Path | None = None, volunteers: Path | None = None) -> City:
    """The city in the file (plus its CSV tables), checked whole; raises InvalidCity with every problem."""
    document = parse(path.read_text(encoding="utf-8"), path.name, json_format=path.suffix.lower() == ".json")
    problems: list[Problem] = []
    for table, csv_path in (("compounds", compounds), ("volunteers", volunteers)):
        if csv_path is not None:
            problems += merge_table(document, table, csv_path.read_text(encoding="utf-8-sig"), csv_path.name)
    if problems:
        raise InvalidCity(problems)
    return validate(document)


def parse(text: str, source: str, *, json_format: bool) -> Document:
    try:
        if json_format:
            return Document(json.loads(text), {(): Location(source)}, source)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml when installed: much faster
        try:
            node = loader.get_single_node()
            content = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except json.JSONDecodeError as error:
        raise InvalidCity(
            [Problem((), _("not valid JSON: %(error)s") % {"error": error.msg}, Location(source, error.lineno))]
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(error, "problem", None) or str(error)
        message = _("not valid YAML: %(error)s") % {"error": reason}
        raise InvalidCity([Problem((), message, Location(source, line))]) from None
    locations: dict[Trail, Location] = {}
    if node is not None:
        _record_lines(node, (), source, locations)
    return Document(content, locations, source)


def _record_lines(node: yaml.Node, path: Trail, source: str, locations: dict[Trail, Location]) -> None:
    locations.setdefault(path, Location(source, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            locations[child] = Location(source, key.start_mark.line + 1)
            _record_lines(value, child, source, locations)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), source, locations)


def _communities(content: Any) -> Iterator[tuple[Trail, dict]]:
    """Every community of a document whose shape may still be wrong (the model checks it afterwards)."""

    def items(value: Any, key: str) -> Iterator[tuple[int, dict]]:
        listed = value.get(key) if isinstance(value, dict) else None
        for index, item in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(item, dict):
                yield index, item

    for d, district in items(content, "districts"):
        for s, street in items(district, "streets"):
            for c, community in items(street, "communities"):
                yield ("districts", d, "streets", s, "communities", c), community


def merge_table(document: Document, table: str, text: str, source: str) -> list[Problem]:
    """Add a CSV table's rows (compounds or volunteers, each naming its community) to the document."""
    columns = _TABLES[table]
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in columns]
    missing = [name for name in ("community", "code", "name") if name not in header]
    if unknown or missing:
        message = _("the columns are %(columns)s") % {"columns": ", ".join(columns)}
        return [Problem((table,), message, Location(source, 1))]
    communities = {community.get("code"): (path, community) for path, community in _communities(document.content)}
    problems = []
    for row in reader:
        here = Location(source, reader.line_num)
        if None in row:
            problems.append(Problem((table,), _("more cells than columns"), here))
            continue
        entry: dict[str, Any] = {
            name: value.strip() for name, value in row.items() if name != "community" and value and value.strip()
        }
        if "boundary" in entry:
            try:
                entry["boundary"] = json.loads(entry["boundary"])
            except json.JSONDecodeError as error:
                message = _("not valid JSON: %(error)s") % {"error": error.msg}
                problems.append(Problem((table, "boundary"), message, here))
                continue
        found = communities.get(row["community"])
        if found is None:
            message = _("unknown community %(code)s") % {"code": row["community"]}
            problems.append(Problem((table, "community"), message, here))
            continue
        path, community = found
        if not isinstance(community.get(table), list):
            community[table] = []
        community[table].append(entry)
        document.locations[(*path, table, len(community[table]) - 1)] = here
    return problems


# ---- checking --------------------------------------------------------------------------------------------------

# pydantic's messages for what a file most often gets wrong, in the catalogue; anything rarer keeps pydantic's words
_PYDANTIC = {
    "missing": lambda e: _("missing"),
    "extra_forbidden": lambda e: _("unknown field"),
    "string_pattern_mismatch": lambda e: _("not a valid code (letters, digits, '.', '_' and '-'; up to 40)"),
    "string_too_short": lambda e: _("must not be empty"),
    "string_too_long": lambda e: _("too long (at most %(max)s characters)") % {"max": e["ctx"]["max_length"]},
    "string_type": lambda e: _("must be text"),
    "bool_parsing": lambda e: _("must be true or false"),
    "bool_type": lambda e: _("must be true or false"),
    "list_type": lambda e: _("must be a list"),
    "dict_type": lambda e: _("must be a mapping"),
    "model_type": lambda e: _("must be a mapping"),
    "enum": lambda e: _("must be one of %(expected)s") % {"expected": e["ctx"]["expected"]},
    "too_short": lambda e: _("must have at least %(min)s") % {"min": e["ctx"]["min_length"]},
    "too_long": lambda e: _("may have at most %(max)s") % {"max": e["ctx"]["max_length"]},
}


def validate(document: Document) -> City:
    """The document as a city, or InvalidCity with every problem: first its shape, then its references."""
    try:
        city = City.model_validate(document.content)
    except ValidationError as error:
        raise InvalidCity(
            [
                document.problem(tuple(e["loc"]), _PYDANTIC[e["type"]](e) if e["type"] in _PYDANTIC else e["msg"])
                for e in error.errors()
            ]
        ) from None
    problems = [document.problem(path, message) for path, message in check(city)]
    if problems:
        raise InvalidCity(problems)
    return city


def check(city: City) -> list[tuple[Trail, str]]:
    """What is wrong with a city whose shape is right: codes used twice, references to nothing, categories a
    district does not route, routing to departments the district does not have."""
    problems: list[tuple[Trail, str]] = []
    kinds: dict[str, OrgKind | None] = {}  # code -> organisation kind (None: an area, volunteer or category)
    first: dict[str, Trail] = {}
    district_of: dict[str, str] = {}  # department -> district

    def claim(code: str, path: Trail, kind: OrgKind | None = None) -> bool:
        if code in first:
            message = _("code %(code)s is used twice (also at %(other)s)") % {
                "code": code,
                "other": dotted(first[code]),
            }
            problems.append((path, message))
            return False
        first[code] = path
        kinds[code] = kind
        return True

    for d, district in enumerate(city.districts):
        at = ("districts", d)
        claim(district.code, (*at, "code"))
        claim(district.centre.code, (*at, "centre", "code"), OrgKind.DISTRICT_CENTRE)
        for i, department in enumerate(district.departments):
            claim(department.code, (*at, "departments", i, "code"), OrgKind.DEPARTMENT)
            district_of[department.code] = district.code
        for i, company in enumerate(district.property_companies):
            claim(company.code, (*at, "property_companies", i, "code"), OrgKind.PROPERTY_COMPANY)
        for s, street in enumerate(district.streets):
            claim(street.code, (*at, "streets", s, "code"))
            for c, community in enumerate(street.communities):
                here = (*at, "streets", s, "communities", c)
                claim(community.code, (*here, "code"))
                for i, compound in enumerate(community.compounds):
                    if claim(compound.code, (*here, "compounds", i, "code")) and compound.owners_committee:
                        claim(owners_committee_code(compound.code), (*here, "compounds", i, "owners_committee"))
                for i, volunteer in enumerate(community.volunteers):
                    claim(volunteer.code, (*here, "volunteers", i, "code"))
    for i, category in enumerate(city.categories):
        claim(category.code, ("categories", i, "code"))
    names: dict[str, int] = {}
    for i, policy in enumerate(city.policies):
        if policy.name in names:
            message = _("policy %(name)s is listed twice (also at %(other)s)") % {
                "name": policy.name,
                "other": dotted(("policies", names[policy.name])),
            }
            problems.append((("policies", i, "name"), message))
        names.setdefault(policy.name, i)

    categories = [category.code for category in city.categories]
    for d, district in enumerate(city.districts):
        at = ("districts", d)
        for s, street in enumerate(district.streets):
            for c, community in enumerate(street.communities):
                for i, compound in enumerate(community.compounds):
                    company = compound.property_company
                    if company is not None and kinds.get(company, False) is not OrgKind.PROPERTY_COMPANY:
                        path = (*at, "streets", s, "communities", c, "compounds", i, "property_company")
                        problems.append((path, _("%(code)s is not a property company of the city") % {"code": company}))
        for category, routing in district.routing.items():
            path = (*at, "routing", category)
            if category not in categories:
                problems.append((path, _("unknown category %(code)s") % {"code": category}))
            for role, code in [
                (("lead",), routing.lead),
                *((("assist", i), code) for i, code in enumerate(routing.assist)),
            ]:
                if district_of.get(code) == district.code:
                    continue
                if code in district_of:
                    message = _("%(code)s is a department of district %(other)s, not of %(district)s") % {
                        "code": code,
                        "other": district_of[code],
                        "district": district.code,
                    }
                else:
                    message = _("unknown department %(code)s") % {"code": code}
                problems.append(((*path, *role), message))
        unrouted = [code for code in categories if code not in district.routing]
        if unrouted:
            message = _("no routing for %(categories)s") % {"categories": ", ".join(unrouted)}
            problems.append(((*at, "routing"), message))
    return problems


# ---- writing ---------------------------------------------------------------------------------------------------


def content(city: City) -> dict[str, Any]:
    return city.model_dump(mode="json", exclude_none=True)


def dumps(content: dict[str, Any], *, yaml_format: bool) -> str:
    if yaml_format:
        return yaml.dump(content, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
    return json.dumps(content, ensure_ascii=False, indent=1) + "\n"


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def split_table(content: dict[str, Any], table: str) -> str:
    """Take a table (compounds or volunteers) out of the content, as CSV text with each row's community."""
    columns = _TABLES[table]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for district in content["districts"]:
        for street in district.get("streets", []):
            for community in street.get("communities", []):
                for entry in community.pop(table, []):
                    if "owners_committee" in entry:
                        entry["owners_committee"] = str(entry["owners_committee"]).lower()
                    if "boundary" in entry:
                        entry["boundary"] = json.dumps(entry["boundary"], ensure_ascii=False)
                    writer.writerow({"community": community["code"], **entry})
    return out.getvalue()
