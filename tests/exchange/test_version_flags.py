"""'last' is the newest version each caller may see, also when newer ones are RED."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telsec.exchange.store import version_flags
from telsec.stix.tlp import Tlp

from .helpers import SHARED, T0, Api, indicator

T2 = "2024-03-01T00:00:00.000Z"
T3 = "2024-04-01T00:00:00.000Z"

versions = st.lists(
    st.tuples(st.integers(2000, 2099).map(lambda y: f"{y}-01-01T00:00:00.000000Z"), st.booleans()),
    min_size=1,
    max_size=8,
    unique_by=lambda v: v[0],
)


@given(versions)
def test_flags_mark_one_latest_one_first_and_the_candidates_below_red(items) -> None:
    flags = version_flags(items)
    ordered = sorted(items)
    assert [v for v, f in flags.items() if f[0]] == [ordered[-1][0]]
    assert [v for v, f in flags.items() if f[1]] == [ordered[0][0]]
    below = sorted(v for v, f in flags.items() if f[2])
    if not ordered[-1][1]:
        assert below == []
        return
    # Everything from the newest non-RED version up to (not including) the newest.
    older = ordered[:-1]
    non_red = [i for i, (_, red) in enumerate(older) if not red]
    start = non_red[-1] if non_red else 0
    assert below == [v for v, _ in older[start:]]


@pytest.fixture
def api(coalition):
    return Api(coalition.database)


def test_each_reader_gets_the_newest_version_it_may_see(api, coalition):
    ofcom = coalition.token("Ofcom")
    fcc_id = coalition.orgs["FCC"].identity_id
    ised_id = coalition.orgs["ISED"].identity_id
    v1 = indicator(Tlp.GREEN, created=T0)
    v2 = indicator(Tlp.RED, id=v1["id"], created=T0, modified=T2, recipients=[fcc_id])
    v3 = indicator(Tlp.RED, id=v1["id"], created=T0, modified=T3, recipients=[ised_id])
    status = api.add(SHARED, ofcom, [v1, v2, v3])
    assert status["success_count"] == 3

    def last_modified(org: str) -> list[str]:
        body = api.object(SHARED, coalition.token(org), v1["id"]).json()
        return [o["modified"] for o in body.get("objects", [])]

    assert last_modified("Ofcom") == [T3]  # the producer sees everything
    assert last_modified("ISED") == [T3]
    assert last_modified("FCC") == [T2]
    assert last_modified("ACMA") == [T0]  # a reader named nowhere
    # The default listing agrees with the object endpoint, one version each.
    assert api.ids(SHARED, coalition.token("ACMA")) == [v1["id"]]
    # Deleting the newest RED version moves FCC's and ISED's "last" accordingly.
    assert (
        api.delete(
            f"{SHARED}/objects/{v1['id']}/", ofcom, params={"match[version]": T3}
        ).status_code
        == 200
    )
    assert last_modified("ISED") == [T0]
    assert last_modified("FCC") == [T2]
