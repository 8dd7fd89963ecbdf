"""Personal data: keyed pseudonyms, and how one principal sees a dataset's content.

A pseudonym is an HMAC of the value keyed with the platform's secret key: the same value of the same
field of the same dataset always gives the same pseudonym, so a recipient can still join, count and
follow a meter over time, but cannot recover the value or link it across datasets. Whether a principal
sees personal values in clear, and which fields it may read at all, is decided by `policy`; this module
only applies those decisions to the rows about to be answered.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from territoria.access import policy
from territoria.access.principal import Principal
from territoria.catalog.models import Dataset

PREFIX = "pz_"
DIGITS = 20  # 80 bits: no collision in practice within one field of one dataset
ASSET = "asset"
ASSET_NAME = "asset.name"
ASSET_LOCATION = "asset.location"
ASSET_PROPERTY = "asset.properties."
KEY = "key"  # the field name a composite record key is pseudonymised under


@lru_cache(maxsize=8)
def _subkey(secret_key: str) -> bytes:
    """A key for pseudonyms only, derived from the secret key (which also signs sessions)."""
    return hmac.new(secret_key.encode(), b"territoria/pseudonym/v1", hashlib.sha256).digest()


def canonical(value: Any) -> str:
    """The text a value is pseudonymised as: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def pseudonym(secret_key: str, dataset_slug: str, field: str, value: Any) -> str:
    """The stable pseudonym of a value of one field of one dataset, e.g. 'pz_3f0c…' (20 hex digits)."""
    message = orjson.dumps([dataset_slug, field, canonical(value)])
    return PREFIX + hmac.new(_subkey(secret_key), message, hashlib.sha256).hexdigest()[:DIGITS]


@dataclass(frozen=True)
class View:
    """How one principal sees one dataset: personal values in clear or not, and which fields at all."""

    dataset: str
    clear: bool
    personal: frozenset[str]
    # Metrics (time series) or fields (records) the principal may read; None: all of them.
    fields: frozenset[str] | None
    secret_key: str = field(repr=False, default="")

    def hides(self, name: str) -> bool:
        """True when the values of this field are shown as pseudonyms."""
        return not self.clear and name in self.personal

    def shows(self, name: str) -> bool:
        """True when this metric or field may be read at all."""
        return self.fields is None or name in self.fields

    def mask(self, name: str, value: Any) -> Any:
        """The value as this principal sees it (nothing to hide in a null or an empty string)."""
        if value is None or value == "" or not self.hides(name):
            return value
        return pseudonym(self.secret_key, self.dataset, name, value)


def view_of(principal: Principal, ds: Dataset, secret_key: str) -> View:
    """The view the policy grants this principal on this dataset."""
    return View(
        dataset=ds.slug,
        clear=policy.sees_personal(principal, ds),
        personal=frozenset(ds.personal_fields or []),
        fields=policy.allowed_fields(principal, ds),
        secret_key=secret_key,
    )


def pseudonym_index(view: View, name: str, values: Iterable[str]) -> dict[str, str]:
    """Pseudonym → clear value, to resolve a filter written with the pseudonyms the caller sees."""
    return {pseudonym(view.secret_key, view.dataset, name, v): v for v in values}


@dataclass(frozen=True)
class MaskedAsset:
    """An asset's identifying parts as one principal sees them."""

    id: str
    name: str
    lon: float | None
    lat: float | None
    properties: dict[str, Any]


def mask_asset(
    view: View | None,
    external_id: str,
    name: str,
    lon: float | None,
    lat: float | None,
    properties: Mapping[str, Any] | None,
) -> MaskedAsset:
    """Pseudonymise an asset's id, name and properties, and drop its position (the commune stays)."""
    props = dict(properties or {})
    if view is None or view.clear or not view.personal:
        return MaskedAsset(external_id, name, lon, lat, props)
    hidden_place = view.hides(ASSET_LOCATION)
    return MaskedAsset(
        id=view.mask(ASSET, external_id),
        name=view.mask(ASSET_NAME, name),
        lon=None if hidden_place else lon,
        lat=None if hidden_place else lat,
        properties={k: view.mask(ASSET_PROPERTY + str(k), v) for k, v in props.items()},
    )


def key_in_clear(view: View | None, primary_key: Sequence[str]) -> bool:
    """A record key is shown as stored only when every field it is made of is readable in clear.

    Without a primary key the key is a digest of the whole row: a digest of personal values can be
    matched against guesses, so it is pseudonymised as soon as the dataset holds any.
    """
    if view is None or view.clear:
        return True
    if not primary_key:
        return not view.personal and view.fields is None
    return all(view.shows(k) and not view.hides(k) for k in primary_key)


def mask_record(
    view: View | None,
    key: str,
    data: Mapping[str, Any],
    primary_key: Sequence[str],
    schema_fields: Sequence[str],
) -> tuple[str, dict[str, Any]]:
    """A record's key and data as the principal sees them: allowed fields only, personal ones masked.

    Anyone but the owner sees only the fields of the current Table Schema: values a former version
    held (perhaps personal, no longer declared) stay with the owner.
    """
    if view is None or view.clear:
        return key, dict(data)
    known = set(schema_fields)
    shown = {
        name: view.mask(name, value)
        for name, value in data.items()
        if view.shows(name) and (not known or name in known)
    }
    if key_in_clear(view, primary_key):
        return key, shown
    # A one-field key gets the pseudonym of that field's value, so keys and values still join.
    name = primary_key[0] if len(primary_key) == 1 else KEY
    return pseudonym(view.secret_key, view.dataset, name, key), shown
