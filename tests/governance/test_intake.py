"""What may be stored of a resident's message (governance/intake.py, Redactor.screen) and what staff see of it
(Redactor.mask): My Number and card numbers never, other kinds as the tenant's `pii.keep` says, addresses with
their town and 丁目."""
from __future__ import annotations

import pytest

from config.tenancy import Tenant
from core.messages import InboundEvent
from governance.intake import NOT_KEPT_META, kept_kinds, mask_for_staff, screen_event, screen_staff_text, screen_text
from governance.pii import Redactor


def tenant(keep: list[str] | None = None, phone: str = "03-5320-7725") -> Tenant:
    raw = {"pii": {"keep": keep}} if keep is not None else {}
    return Tenant(id="t", display_name="テスト市", sources=(), contact={"phone": phone}, thresholds={}, raw=raw)


class TestScreen:
    redactor = Redactor()

    def test_an_address_keeps_its_town_and_chome(self):
        assert self.redactor.screen("住所は世田谷区太子堂2丁目3番4号です")[0] == "住所は世田谷区太子堂2丁目〔番地〕です"
        assert self.redactor.screen("世田谷区太子堂２丁目３番４号")[0] == "世田谷区太子堂２丁目〔番地〕"  # full width

    def test_a_hyphenated_address_keeps_its_first_group_as_the_chome(self):
        assert self.redactor.screen("住所は西新宿2-8-1です")[0] == "住所は西新宿2-〔番地〕です"
        assert self.redactor.screen("世田谷区下馬2-13 資源の日")[0] == "世田谷区下馬2-〔番地〕 資源の日"

    def test_an_address_without_chome_keeps_its_town(self):
        assert self.redactor.screen("東京都千代田区大手町1番地です")[0] == "東京都千代田区大手町〔番地〕です"

    def test_kept_kinds_stay_and_the_found_kinds_are_reported(self):
        text, found = self.redactor.screen("電話は090-1234-5678、メールは a@example.jp", keep_kinds={"phone"})
        assert text == "電話は090-1234-5678、メールは 〔メール〕"
        assert found == {"phone", "email"}

    def test_my_number_and_cards_cannot_be_kept(self):
        text, found = self.redactor.screen("マイナンバー 1234 5678 9018 カード 4111 1111 1111 1111",
                                           keep_kinds={"my_number", "card_number"})
        assert text == "マイナンバー 〔個人番号〕 カード 〔カード番号〕" and found == {"my_number", "card_number"}

    def test_text_without_personal_data_is_unchanged(self):
        assert self.redactor.screen("粗大ごみは何曜日？") == ("粗大ごみは何曜日？", frozenset())


class TestMask:
    redactor = Redactor()

    @pytest.mark.parametrize("written, shown", [
        ("090-1234-5678", "090-****-5678"), ("09012345678", "090****5678"), ("03-1234-5678", "03-****-5678"),
        ("０９０－１２３４－５６７８", "０９０－****－５６７８"),
    ])
    def test_a_phone_shows_its_first_group_and_last_four_digits(self, written, shown):
        assert self.redactor.mask(f"電話は{written}です") == f"電話は{shown}です"

    def test_email_address_and_my_number(self):
        masked = self.redactor.mask("taro@example.jp 世田谷区太子堂2丁目3番4号 マイナンバー1234 5678 9018")
        assert masked == "t***@example.jp 世田谷区太子堂2丁目〔番地〕 マイナンバー〔個人番号〕"

    def test_the_tenants_own_number_is_shown_as_is(self):
        assert mask_for_staff("03-5320-7725 と 090-1234-5678", tenant()) == "03-5320-7725 と 090-****-5678"


class TestTenantPolicy:
    def test_keep_list_is_read_and_checked(self):
        assert kept_kinds(tenant(["phone", "address"])) == {"phone", "address"}
        assert kept_kinds(tenant()) == frozenset()
        with pytest.raises(ValueError, match="my_number"):
            kept_kinds(tenant(["my_number"]))
        with pytest.raises(ValueError, match="telephone"):
            kept_kinds(tenant(["telephone"]))

    def test_the_shipped_tenants_have_valid_policies(self):
        from config.tenancy import load_tenants

        for each in load_tenants().values():
            assert "my_number" not in kept_kinds(each)


class TestScreenEvent:
    def event(self, text: str, **meta) -> InboundEvent:
        return InboundEvent(channel="email", external_id="<m-1@example.jp>", tenant="t", sender="a@example.jp",
                            text=text, meta=meta)

    def test_text_and_content_meta_are_screened_ids_are_not(self):
        event = self.event("マイナンバーは1234 5678 9018です。電話090-1234-5678", subject="カード 4111 1111 1111 1111",
                           body="全文 1234 5678 9018 a@example.jp", message_id="<123456789018@example.jp>",
                           reply_to="a@example.jp")
        screened = screen_event(event, tenant(["phone"]), language="ja")
        assert screened.text == "マイナンバーは〔個人番号〕です。電話090-1234-5678"
        assert screened.meta["subject"] == "カード 〔カード番号〕"
        assert screened.meta["body"] == "全文 〔個人番号〕 〔メール〕"
        assert screened.meta["message_id"] == "<123456789018@example.jp>"  # a provider id, not a resident's words
        assert screened.meta["reply_to"] == "a@example.jp"  # where the reply goes: only never-stored kinds go here
        assert screened.meta[NOT_KEPT_META] == {"kinds": ["card_number", "my_number"], "language": "ja"}
        assert screened.sender == event.sender and screened.external_id == event.external_id

    def test_other_kinds_alone_do_not_ask_for_the_notice(self):
        screened = screen_event(self.event("メールは a@example.jp です"), tenant(), language="en")
        assert screened.text == "メールは 〔メール〕 です" and NOT_KEPT_META not in screened.meta

    def test_nothing_to_screen_returns_the_event_itself(self):
        event = self.event("粗大ごみの出し方")
        assert screen_event(event, tenant()) is event


def test_feedback_comments_and_staff_text():
    assert screen_text("番号 987654321093 です", tenant()) == "番号 〔個人番号〕 です"
    assert screen_text(None, tenant()) is None
    assert screen_staff_text("折り返し 090-1234-5678、番号 1234 5678 9018") == "折り返し 090-1234-5678、番号 〔個人番号〕"
