"""Names, not codes: every enum member a person reads has a name, and the name book tells a street from its office."""

import pytest

from i18n.language import CHINESE, ENGLISH, speaking
from i18n.names import NameBook, name, named_members
from schemas.domain import Level, Status
from schemas.keys import Role


def test_members_of_different_enums_with_one_value_keep_their_own_names():
    with speaking(CHINESE):
        assert (name(Level.COUNCIL), name(Role.COUNCIL)) == ("小区三方", "三方联动成员")
        assert name(Status.RESOLVED) == "已解决待评价"


@pytest.mark.parametrize("language", [CHINESE, ENGLISH])
def test_no_named_member_reads_as_its_code(language):
    with speaking(language):
        assert not [member for member in named_members() if name(member) == member.value]


def test_the_office_and_the_place_sharing_a_code():
    book = NameBook(
        {"HP-DF": ("东风街道办事处", "Dongfeng Street Office"), "PM-HUAXIA": ("华夏物业", "Huaxia Property")},
        {"HP-DF": ("东风街道", "Dongfeng Street"), "HP-DF-QH-1": ("阳光小区", None)},
    )
    with speaking(CHINESE):
        assert (book("HP-DF"), book.place("HP-DF"), book("HP-DF-QH-1")) == ("东风街道办事处", "东风街道", "阳光小区")
        assert (book("resident"), book("UNKNOWN"), book(None)) == ("居民", "UNKNOWN", "–")
    with speaking(ENGLISH):
        assert (book("PM-HUAXIA"), book.place("HP-DF"), book.place("HP-DF-QH-1")) == (
            "Huaxia Property",
            "Dongfeng Street",
            "阳光小区",
        )
