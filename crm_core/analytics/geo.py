"""Customers and revenue by country or state, and the map outlines they are drawn on (shipped with the app:
the dashboard runs offline, so no map tiles or outlines are fetched from the internet)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl

from crm_core.analytics.periods import Period

GEODATA = Path(__file__).resolve().parent / "geodata"
UNKNOWN = "Unknown"
US = "United States of America"
# Other ways customers' data names a country -> the outline's name (lower-case keys; names that equal an
# outline's name match by themselves, in any case).
COUNTRY_ALIASES = {
    "us": US, "usa": US, "u.s.": US, "u.s.a.": US, "united states": US, "america": US,
    "uk": "United Kingdom", "gb": "United Kingdom", "great britain": "United Kingdom", "britain": "United Kingdom",
    "england": "United Kingdom", "scotland": "United Kingdom", "wales": "United Kingdom",
    "northern ireland": "United Kingdom", "br": "Brazil", "bra": "Brazil", "brasil": "Brazil",
    "de": "Germany", "deu": "Germany", "deutschland": "Germany", "fr": "France", "fra": "France",
    "ca": "Canada", "can": "Canada", "in": "India", "ind": "India", "es": "Spain", "españa": "Spain",
    "it": "Italy", "italia": "Italy", "mx": "Mexico", "méxico": "Mexico", "nl": "Netherlands",
    "holland": "Netherlands", "pt": "Portugal", "ar": "Argentina", "au": "Australia", "jp": "Japan",
    "cn": "China", "kr": "South Korea", "korea": "South Korea", "russian federation": "Russia",
    "czech republic": "Czechia", "ie": "Ireland", "ch": "Switzerland", "se": "Sweden", "no": "Norway",
    "dk": "Denmark", "fi": "Finland", "pl": "Poland", "be": "Belgium", "at": "Austria", "za": "South Africa",
    "ng": "Nigeria", "co": "Colombia", "cl": "Chile", "pe": "Peru", "nz": "New Zealand",
}
US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}
LEVELS = ("country", "state")


@lru_cache(maxsize=None)
def outlines(name: str) -> dict:
    """A shipped GeoJSON FeatureCollection: 'countries' or 'us-states' (feature id = the place's name)."""
    if name not in ("countries", "us-states"):
        raise ValueError(f"no outlines named '{name}'")
    return json.loads((GEODATA / f"{name}.geojson").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _feature_names(name: str) -> dict[str, str]:
    return {f["id"].lower(): f["id"] for f in outlines(name)["features"]}


def country_outline(text: str | None) -> str | None:
    """The countries outline a customer's country text names, or None."""
    key = (text or "").strip().lower()
    return _feature_names("countries").get(key) or COUNTRY_ALIASES.get(key)


def state_outline(country: str | None, text: str | None) -> str | None:
    """The state outline a state text names inside a country (US states only), or None."""
    if country_outline(country) != US:
        return None
    key = (text or "").strip()
    return US_STATES.get(key.upper()) or _feature_names("us-states").get(key.lower())


@dataclass(frozen=True)
class PlaceFigures:
    """Customers, buyers, orders and revenue per place, with the outlines to draw them on (None: no map)."""

    level: str
    country: str | None
    table: pl.DataFrame  # location, outline, customers, buyers, orders, revenue (revenue first)
    outlines: str | None  # 'countries', 'us-states' or None when there is no map for this level

    @property
    def unmapped(self) -> pl.DataFrame:
        """Places whose name matched no outline (listed under the map rather than lost)."""
        return self.table.filter(pl.col("outline").is_null())


def place_figures(cur, period: Period, level: str = "country", country: str | None = None,
                  stats: str = "customer_stats") -> PlaceFigures:
    """Per country (or per state, of one country or of all): customers known on the period's last day, and their buyers,
    orders and revenue in the period (read from the cursor's `overview_buyers`, see overview.PeriodScan)."""
    if level not in LEVELS:
        raise ValueError("level must be country or state")
    place = "coalesce(nullif(trim(c.{}), ''), '" + UNKNOWN + "')"
    params: dict = {"end": period.ends_before}
    where = ""
    location = place.format(level)
    if level == "state" and country:
        where, params["country"] = f"AND {place.format('country')} = $country", country
    elif level == "state":  # states of every country: 'WA · United States', so two countries' codes never mix
        location += " || coalesce(' · ' || nullif(trim(c.country), ''), '')"
    table = cur.sql(f"""
        SELECT {location} AS location, count(*) AS customers, count(b.customer_id) AS buyers,
               coalesce(sum(b.orders), 0)::BIGINT AS orders, coalesce(sum(b.revenue), 0)::DECIMAL(18,2) AS revenue
        FROM customers c LEFT JOIN overview_buyers b ON b.customer_id = c.id
        WHERE (c.created_at < $end OR c.id IN (  -- added later but ordering before: stats read for those only
            SELECT s.customer_id FROM customers l JOIN {stats} s ON s.customer_id = l.id
            WHERE l.created_at >= $end AND s.first_order_at < $end)) {where}
        GROUP BY 1 ORDER BY revenue DESC, customers DESC, location""", params=params).pl()
    if level == "country":
        names, kind = [country_outline(x) for x in table["location"]], "countries"
    else:
        names = [state_outline(country, x) for x in table["location"]]
        kind = "us-states" if country_outline(country) == US else None
    table = table.with_columns(pl.Series("outline", names, dtype=pl.String)).select(
        "location", "outline", "customers", "buyers", "orders", "revenue")
    return PlaceFigures(level, country, table, kind)
