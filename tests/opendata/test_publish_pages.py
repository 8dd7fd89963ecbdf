"""The open-data panel of the dataset page and the steward's publish button."""

from __future__ import annotations

import pytest
from tests.conftest import World, web_login
from tests.opendata.energy_world import add_meters

from territoria.catalog.service import get_dataset
from territoria.opendata.policies import set_policy


@pytest.fixture
def metered(world: World) -> World:
    """The world with the meters dataset and its policy."""
    add_meters(world)
    with world.ctx.session(write=True) as s:
        set_policy(s, get_dataset(s, "meters"), {"preset": "fr-energy-by-commune"}, None)
    return world


def test_steward_publishes_from_the_dataset_page(metered: World) -> None:
    client = metered.client
    csrf = web_login(metered.ctx, client, org="lightco", role="steward")
    page = client.get("/datasets/meters?lang=en")
    assert "Privacy policy: version 1" in page.text and "Publish a new version" in page.text
    # The button first shows what will be published and asks to confirm; nothing is published yet.
    confirm = client.post("/datasets/meters/publish?lang=en", data={"csrf_token": csrf})
    assert confirm.status_code == 200 and "Publish version 1" in confirm.text
    assert "Statistical confidentiality" in confirm.text and 'name="confirm" value="yes"' in confirm.text
    assert "first published version" in confirm.text
    french = client.post("/datasets/meters/publish?lang=fr", data={"csrf_token": csrf})
    assert "Publier la version 1" in french.text and "Secret statistique" in french.text
    assert "Latest release" not in client.get("/datasets/meters?lang=en").text
    data = {"csrf_token": csrf, "confirm": "yes"}
    answer = client.post("/datasets/meters/publish", data=data, follow_redirects=False)
    assert answer.status_code == 303 and "published=1" in answer.headers["location"]
    page = client.get(answer.headers["location"] + "&lang=en")
    assert "Version 1 published." in page.text and "Latest release: version 1" in page.text
    again = client.post("/datasets/meters/publish?lang=en", data={"csrf_token": csrf})
    assert "Publish version 2" in again.text and "Latest published version: 1" in again.text


def test_viewer_sees_the_release_but_has_no_button(metered: World) -> None:
    client = metered.client
    csrf = web_login(metered.ctx, client, org="lightco", role="viewer")
    page = client.get("/datasets/meters?lang=en")
    assert "Privacy policy: version 1" in page.text and "Publish a new version" not in page.text
    for data in ({"csrf_token": csrf}, {"csrf_token": csrf, "confirm": "yes"}):  # neither step is open
        answer = client.post("/datasets/meters/publish", data=data, follow_redirects=False)
        assert answer.status_code == 303 and "publish_error=forbidden" in answer.headers["location"]
    page = client.get(answer.headers["location"] + "&lang=en")
    assert "Only the owner organisation" in page.text


def test_publish_without_csrf_is_refused(metered: World) -> None:
    client = metered.client
    web_login(metered.ctx, client, org="lightco", role="steward")
    answer = client.post("/datasets/meters/publish", data={"confirm": "yes"}, follow_redirects=False)
    assert answer.status_code in (303, 403)
    assert "published=" not in answer.headers.get("location", "")
