"""Catalog errors."""

from territoria.errors import Conflict, NotFound


class DatasetNotFound(NotFound):
    """No dataset with that slug."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"dataset '{slug}' does not exist; list datasets at /api/v1/datasets")


class OrganisationNotFound(NotFound):
    """No organisation with that slug."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"organisation '{slug}' does not exist; create it with `territoria org create`")


class SlugTaken(Conflict):
    """The slug is already used."""

    def __init__(self, what: str, slug: str) -> None:
        super().__init__(f"{what} '{slug}' already exists; choose another slug")
