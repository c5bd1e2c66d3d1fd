import json

import pytest
import yaml

from config.tenancy import load_tenant_file
from dialogue.risk import DEFAULT_RISK_PATH, RiskPolicy, assess_risk, merge_config


def numbers(assessment):
    return [number for _, number in assessment.numbers]


@pytest.fixture()
def make_tenant(tmp_path):
    def make(risk=None, contact=None):
        raw = {"id": "testcity", "display_name": "テスト市",
               "contact": contact or {"office": "テスト市 総合案内", "phone": "0120-000-000"}}
        if risk is not None:
            raw["risk"] = risk
        path = tmp_path / "testcity.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        return load_tenant_file(path)
    return make


class TestPublicNumbers:
    def test_the_table_holds_the_real_public_numbers(self):
        table = yaml.safe_load(DEFAULT_RISK_PATH.read_text(encoding="utf-8"))["numbers"]
        assert {k: v["number"] for k, v in table.items()} == {
            "fire_ambulance": "119", "police": "110", "emergency_medical_advice": "#7119", "child_abuse": "189",
            "yorisoi_hotline": "0120-279-338", "inochi_no_denwa": "0570-783-556", "dv_navi": "#8008",
        }


class TestEmergency:
    @pytest.mark.parametrize("text, expected", [
        ("火事です!", ["119"]),
        ("隣の家が燃えている", ["119"]),
        ("父が倒れて意識がない", ["119"]),
        ("子どもが息をしていない", ["119"]),
        ("救急車を呼ぶべきか迷っています", ["#7119", "119"]),
        ("家に不審者がいる", ["110"]),
        ("泥棒に入られた", ["110"]),
        ("強盗に襲われた", ["110"]),
    ])
    def test_situations_get_the_right_numbers_first(self, text, expected):
        assessment = assess_risk(text, "none")
        assert assessment.tier == "emergency" and numbers(assessment) == expected
        assert assessment.escalate and assessment.numbers_first and assessment.matched

    def test_the_emergency_intent_alone_gets_all_three_numbers(self):
        assessment = assess_risk("助けて!早く!", "emergency")
        assert (assessment.tier, numbers(assessment), assessment.matched) == ("emergency", ["119", "110", "#7119"], [])

    @pytest.mark.parametrize("text", [
        "火災報知器の設置は義務ですか", "不審者情報のメール配信に登録したい", "台風で木が倒れた",
        "救急医療の休日当番医を知りたい", "防犯のために泥棒対策を知りたい", "消防署の救命講習",
    ])
    def test_topics_are_not_emergencies(self, text):
        assert assess_risk(text, "none").tier != "emergency"

    def test_english_labels(self):
        assessment = assess_risk("someone collapsed", "emergency", language="en")
        assert assessment.numbers == [("Fire / ambulance", "119")]


class TestCrisis:
    @pytest.mark.parametrize("text, expected", [
        ("死にたい", ["0120-279-338", "0570-783-556"]),
        ("もう消えたい", ["0120-279-338", "0570-783-556"]),
        ("隣の子どもが虐待されているかもしれない", ["189"]),
        ("夫に殴られています", ["#8008"]),
        ("I want to die", ["0120-279-338", "0570-783-556"]),
    ])
    def test_crisis_lines(self, text, expected):
        assessment = assess_risk(text)
        assert assessment.tier == "crisis" and numbers(assessment) == expected and assessment.numbers_first

    def test_crisis_outranks_health(self):
        assert assess_risk("薬をたくさん飲んで死にたい").tier == "crisis"

    def test_crisis_intent_alone_gets_the_default_lines(self):
        assert numbers(assess_risk("もう限界", "crisis")) == ["0120-279-338", "0570-783-556", "189"]


class TestDisasterAndDisclaimers:
    def test_disaster_victims_get_the_tenant_disaster_contact(self, make_tenant):
        tenant = make_tenant(risk={"disaster_contact": {"label": "テスト市 災害対策本部", "number": "0120-111-111"}})
        assessment = assess_risk("地震で家が全壊しました", "none", tenant)
        assert assessment.tier == "disaster" and assessment.escalate and not assessment.numbers_first
        assert assessment.numbers == [("テスト市 災害対策本部", "0120-111-111")]

    def test_without_a_disaster_contact_the_tenant_office_is_given(self, make_tenant):
        assessment = assess_risk("罹災証明書がほしい", "none", make_tenant())
        assert assessment.numbers == [("テスト市 総合案内", "0120-000-000")]

    @pytest.mark.parametrize("text, tier", [
        ("電気を止められてしまった", "life"), ("薬の副作用が心配", "health"), ("相続の手続きを知りたい", "property"),
        ("税の滞納で差押えの通知が来た", "property"), ("確定申告の期限はいつまでですか", "deadline"),
    ])
    def test_disclaimer_tiers_offer_a_person_but_do_not_escalate(self, make_tenant, text, tier):
        assessment = assess_risk(text, "none", make_tenant())
        assert assessment.tier == tier and assessment.action == "disclaimer" and not assessment.escalate
        assert assessment.numbers == [("テスト市 総合案内", "0120-000-000")]

    def test_ordinary_questions_carry_no_risk(self):
        assessment = assess_risk("燃えるごみの収集日はいつですか", "none")
        assert (assessment.tier, assessment.numbers, assessment.escalate) == (None, [], False)


class TestTenantOverrides:
    def test_a_tenant_without_7119_switches_it_off(self, make_tenant):
        tenant = make_tenant(risk={"numbers": {"emergency_medical_advice": {"number": None}}})
        assert numbers(assess_risk("助けて", "emergency", tenant)) == ["119", "110"]

    def test_a_tenant_replaces_a_tier_patterns(self, make_tenant):
        tenant = make_tenant(risk={"tiers": {"deadline": {"signals": [
            {"name": "local", "numbers": ["tenant_contact"], "patterns": ["申告会場"]}]}}})
        assert assess_risk("申告会場はどこ", "none", tenant).tier == "deadline"
        assert assess_risk("期限はいつ", "none", tenant).tier is None

    def test_merge_merges_mappings_and_replaces_lists(self):
        merged = merge_config({"a": {"x": 1, "y": [1, 2]}, "b": 1}, {"a": {"y": [3]}, "c": 2})
        assert merged == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}

    @pytest.mark.parametrize("tiers, message", [
        ({"t": {"action": "panic"}}, "action"),
        ({"t": {"action": "disclaimer", "default_numbers": ["nowhere"]}}, "unknown numbers"),
        ({"t": {"action": "disclaimer", "signals": [{"name": "s", "patterns": ["(unclosed"]}]}}, "bad pattern"),
    ])
    def test_bad_config_is_rejected_at_load(self, tiers, message):
        with pytest.raises(ValueError, match=message):
            RiskPolicy({"tiers": tiers, "numbers": {}})


def test_real_localgovfaq_questions_are_not_emergencies(localgovfaq_dir):
    lines = (localgovfaq_dir / "queries-dev.jsonl").read_text(encoding="utf-8").splitlines()
    tiers = [assess_risk(json.loads(line)["query"], "none", "amagasaki").tier for line in lines if line.strip()]
    assert tiers.count("emergency") == 0
    # The only crisis hits in the dev split are two questions about DV, where the DV line is the right answer.
    assert tiers.count("crisis") + tiers.count("disaster") <= 0.02 * len(tiers)
