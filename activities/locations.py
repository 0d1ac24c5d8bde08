"""Where a place is: the compound whose boundary (a GeoJSON polygon in the registry) contains a point, or the
compounds nearest to it when it lies in none (a street, a park, a location fix a little off).

Distances are in metres on a local flat projection around the district (equirectangular: at the scale of a
district, a few kilometres, it is off by well under a metre).
"""

import math

import asyncpg
import shapely
import structlog
from pydantic import BaseModel
from shapely.geometry import Point, shape

from activities.registry_kept import Kept

log = structlog.get_logger(__name__)

NEAR = 2000.0  # metres: farther compounds are not offered as "nearest" (the place is somewhere else entirely)
NEAREST = 3  # compounds offered when a place lies in none
_EARTH = 6_371_008.8  # mean radius, metres
_DEGREE = math.pi / 180 * _EARTH  # metres per degree of latitude


class Nearby(BaseModel):
    compound: str
    metres: int


class CompoundMap:
    """Every compound with a boundary, indexed for "which contains this point" and "which are nearest"."""

    def __init__(self, boundaries: dict[str, dict]) -> None:
        polygons = {code: _polygon(code, geojson) for code, geojson in boundaries.items()}
        polygons = {code: polygon for code, polygon in polygons.items() if polygon is not None}
        latitudes = [polygon.centroid.y for polygon in polygons.values()]
        self._scale = math.cos(math.radians(sum(latitudes) / len(latitudes))) if latitudes else 1.0
        self._codes = list(polygons)
        self._shapes = [shapely.transform(polygon, self._metres) for polygon in polygons.values()]
        self._tree = shapely.STRtree(self._shapes)

    def __len__(self) -> int:
        return len(self._codes)

    def _metres(self, lon_lat):  # an (n, 2) array of degrees (shapely.transform)
        return lon_lat * (_DEGREE * self._scale, _DEGREE)

    def _point(self, lat: float, lon: float) -> Point:
        return shapely.transform(Point(lon, lat), self._metres)

    def locate(self, lat: float, lon: float) -> str | None:
        """The compound containing the point (its boundary included), or None."""
        point = self._point(lat, lon)
        found = sorted(self._codes[i] for i in self._tree.query(point, predicate="intersects"))
        return found[0] if found else None

    def nearest(self, lat: float, lon: float, limit: int = NEAREST, within: float = NEAR) -> list[Nearby]:
        """The compounds whose boundary is within `within` metres of the point, nearest first."""
        point = self._point(lat, lon)
        candidates = self._tree.query(point, predicate="dwithin", distance=within)
        found = sorted((self._shapes[i].distance(point), self._codes[i]) for i in candidates)
        return [Nearby(compound=code, metres=round(metres)) for metres, code in found[:limit]]


def _polygon(code: str, geojson: dict) -> shapely.Geometry | None:
    try:
        polygon = shape(geojson)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError) as error:
        log.warning("compound boundary unreadable: ignored", compound=code, error=str(error))
        return None
    if polygon.geom_type not in ("Polygon", "MultiPolygon") or polygon.is_empty:
        log.warning("compound boundary is not a polygon: ignored", compound=code, kind=polygon.geom_type)
        return None
    return polygon if polygon.is_valid else shapely.make_valid(polygon)


async def load(connection: asyncpg.Connection) -> CompoundMap:
    rows = await connection.fetch(
        "SELECT code, boundary FROM jurisdictions WHERE kind = 'COMPOUND' AND boundary IS NOT NULL ORDER BY code"
    )
    return CompoundMap({row["code"]: row["boundary"] for row in rows})


compound_map: Kept[CompoundMap] = Kept(load)  # a changed boundary routes once the registry has changed
