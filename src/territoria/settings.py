"""One typed Settings object for the whole platform, read from TERRITORIA_* variables."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEMO_SECRET_KEY = "territoria-demo-secret-change-me"  # noqa: S105 - refused outside the demo
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
CONFIG_NAME = "territoria.toml"
CONFIG_ENV = "TERRITORIA_CONFIG"  # one file instead of the lookup; "none": no file at all
WRITTEN_MARK = "# Written by `territoria"  # first line of a file the demo may rewrite


def user_config_path() -> Path:
    """The user's configuration file: $XDG_CONFIG_HOME/territoria/territoria.toml (~/.config/…)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "territoria" / CONFIG_NAME


def config_files() -> list[Path]:
    """The configuration files read, strongest first: ./territoria.toml, then the user's.

    TERRITORIA_CONFIG names a single file instead (``none``: read no file at all).
    """
    named = os.environ.get(CONFIG_ENV)
    if named is not None:
        return [] if named.strip().lower() in ("", "none") else [Path(named)]
    return [Path(CONFIG_NAME), user_config_path()]


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings of one TOML file (keys are the TERRITORIA_* names in lower case, without the prefix).

    A relative SQLite path is relative to the file's folder, so the file means the same database
    wherever the command runs.
    """
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not a readable TOML configuration file ({exc})") from exc
    url = values.get("database_url")
    if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        raw = url.removeprefix("sqlite:///")
        if raw and raw != ":memory:" and not raw.startswith("file:"):
            values["database_url"] = f"sqlite:///{(path.parent / raw).resolve()}"
    return {key.lower(): value for key, value in values.items()}


class ConfigFileSource(PydanticBaseSettingsSource):
    """Settings from territoria.toml files: below the TERRITORIA_* variables, above the defaults."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: the whole files are read at once in __call__."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The merged values of the files found, the first file winning."""
        merged: dict[str, Any] = {}
        for path in reversed(config_files()):
            if path.is_file():
                merged.update(read_config_file(path))
        return {k: v for k, v in merged.items() if k in self.settings_cls.model_fields}


# The maps' background presets (their URLs and attributions are in territoria.web.basemap).
MAP_BASE_PRESETS = ("plan-ign", "ortho-ign", "osm", "none")


def check_map_base(value: str) -> str:
    """A preset name or an http(s) XYZ tile URL with {z}, {x} and {y}; else ValueError saying so."""
    if value in MAP_BASE_PRESETS:
        return value
    scheme, _, rest = value.partition("://")
    placeholders = all(p in value for p in ("{z}", "{x}", "{y}"))
    if scheme in ("https", "http") and rest.split("/", 1)[0] and placeholders:
        return value
    raise ValueError(
        f"map_base must be one of {', '.join(MAP_BASE_PRESETS)} or an http(s) tile URL with {{z}}, {{x}} "
        f"and {{y}}; got {value!r}"
    )


class Settings(BaseSettings):
    """Runtime configuration; every field can be set with a TERRITORIA_<NAME> variable."""

    model_config = SettingsConfigDict(env_prefix="TERRITORIA_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite:///territoria-data/territoria.db",
        description="SQLAlchemy URL: sqlite:///path/file.db (embedded) or postgresql+psycopg://…",
    )
    secret_key: str = DEMO_SECRET_KEY
    demo: bool = False
    max_body_bytes: int = 50 * 1024 * 1024
    future_tolerance_s: int = 300
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_client_id: str = "territoria-ingest"
    mqtt_batch_size: int = 5000
    mqtt_batch_wait_ms: int = 200
    log_level: str = "INFO"
    quality_interval_s: int = 300  # series rules and scores refreshed this often by serve/demo; 0: never
    retention_interval_s: int = 86_400  # personal data past retention purged this often by serve/demo
    # Base of every absolute link (invitations, password resets, the DCAT catalogue). Not configured:
    # serve and demo use the address they listen on, and the demo records it in territoria.toml.
    public_url: str = DEFAULT_PUBLIC_URL
    session_hours: int = 12  # a web session lasts this long after login
    login_max_failures: int = 5  # consecutive failures that lock an account …
    login_lockout_minutes: int = 15  # … for this long
    login_rate_per_client: int = 20  # failed logins per client address per window before 429
    login_rate_window_minutes: int = 15
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses or CIDRs);
    # empty: none, the client is the connection's peer. Anyone else's X-Forwarded-For is ignored.
    trusted_proxies: str = ""
    invite_hours: int = 72
    reset_hours: int = 2
    # Open-data release files (Parquet); default: a "releases" folder beside the SQLite file.
    release_dir: Path | None = None
    explore_max_limit: int = 10_000  # largest page the explore API returns
    # API reads on PostgreSQL: a statement running longer is cancelled (503 + Retry-After); 0: no limit.
    statement_timeout_ms: int = 15_000
    # Expensive queries (raw reads, explore, exports, KPI computations) one caller may run at once; 0: any.
    expensive_queries_per_caller: int = 2
    expensive_queries_total: int = 0  # all callers together, per process; 0: two per core
    # Key of the audit chain's HMAC (never stored in the database); default: derived from secret_key.
    audit_key: str | None = None
    # Signed checkpoints of the audit head (JSON lines); default: beside the releases folder.
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_every: int = 100  # a checkpoint every this many events (and at each verify, release)
    audit_refusal_interval_s: int = 60  # anonymous refusals are counted and summarised this often
    # Background of the maps: plan-ign, ortho-ign (IGN Géoplateforme), osm, none, or an XYZ tile URL
    # with {z}, {x}, {y} (then give its attribution too). Commune outlines are always drawn on top.
    map_base: str = "osm"
    map_base_attribution: str = ""  # plain text, shown in the map's corner for a URL of your own

    @field_validator("map_base")
    @classmethod
    def _known_map_base(cls, value: str) -> str:
        return check_map_base(value.strip())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit values, then TERRITORIA_* variables, then territoria.toml files, then defaults."""
        return (init_settings, env_settings, ConfigFileSource(settings_cls))

    def configured(self, name: str) -> bool:
        """True when the setting was given (a value, a variable or a configuration file), not defaulted."""
        return name in self.model_fields_set

    def require_real_secret(self) -> None:
        """Refuse the published demo secret key outside the demo."""
        if not self.demo and self.secret_key == DEMO_SECRET_KEY:
            raise ValueError(
                "TERRITORIA_SECRET_KEY is still the public demo key: set a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )

    @property
    def is_sqlite(self) -> bool:
        """True when the embedded SQLite backend is configured."""
        return self.database_url.startswith("sqlite")

    def releases_root(self) -> Path:
        """Folder holding the immutable open-data release files."""
        if self.release_dir is not None:
            return self.release_dir
        db = self.sqlite_path()
        return (db.parent if db else Path("territoria-data")) / "releases"

    def audit_checkpoints_path(self) -> Path:
        """File of the signed audit checkpoints: the setting, or beside the releases folder."""
        if self.audit_checkpoint_file is not None:
            return self.audit_checkpoint_file
        return self.releases_root().parent / "audit-checkpoints.jsonl"

    def sqlite_path(self) -> Path | None:
        """File path of the SQLite database, or None for PostgreSQL or in-memory."""
        if not self.is_sqlite:
            return None
        raw = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(raw) if raw and raw != ":memory:" else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment (tests build their own instead)."""
    return Settings()
