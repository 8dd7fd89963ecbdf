"""The process-wide context: settings, engine, session factory and the area locator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from territoria.db.engine import make_engine, make_sessionmaker, session_scope
from territoria.settings import Settings
from territoria.territory.index import AreaLocator
from territoria.territory.service import build_locator


class Context:
    """Everything a request, a worker or a CLI command needs, built once per process."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        # Code holding only a session (the audit chain's key, its checkpoints) finds the settings here.
        self.sessions.configure(info={"settings": settings})
        self._locator: AreaLocator | None = None
        self._lock = threading.Lock()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction (writers take the SQLite write lock at BEGIN)."""
        with session_scope(self.sessions, write=write) as session:
            yield session

    def locator(self) -> AreaLocator:
        """The commune locator, built on first use and after every territory load."""
        with self._lock:
            if self._locator is None:
                with self.session() as session:
                    self._locator = build_locator(session)
            return self._locator

    def forget_locator(self) -> None:
        """Rebuild the locator on next use (after a territory load)."""
        with self._lock:
            self._locator = None
