"""The policy file: the shipped one loads with CONTRACT.md's numbers; broken ones say where."""

from __future__ import annotations

import os
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from bot.domain.enums import Authority, Bucket, FeeKind, Jurisdiction
from bot.policy import PolicyError, clear_policy_cache, get_policy, load_policy
from bot.policy.loader import parse_policy
from bot.policy.models import AtLeast, UpTo
from bot.settings import PROJECT_ROOT, Settings

SHIPPED = PROJECT_ROOT / "policy" / "default.yml"
CN, US = Jurisdiction.CN, Jurisdiction.US


@pytest.fixture(scope="module")
def shipped_text() -> str:
    return SHIPPED.read_text(encoding="utf-8")


def _write_changed(tmp_path: Path, text: str, old: str, new: str) -> Path:
    assert text.count(old) == 1, f"the shipped policy no longer contains {old!r} exactly once"
    path = tmp_path / "policy.yml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


# --- the shipped file --------------------------------------------------------------


def test_the_shipped_policy_loads_with_a_version() -> None:
    policy = load_policy(SHIPPED)
    assert policy.version == "2026.11-1"
    assert policy.authorities == (Authority.BOT, Authority.AGENT, Authority.SUPERVISOR)
    assert policy.max_plan_months == 60


def test_installment_prices_are_exact_decimals_per_jurisdiction() -> None:
    policy = load_policy(SHIPPED)
    cn, us = policy.installments[CN], policy.installments[US]
    assert cn.tenors == {
        3: Decimal("0.0095"),
        6: Decimal("0.0075"),
        12: Decimal("0.0072"),
        24: Decimal("0.0070"),
    }
    assert set(us.tenors) == {3, 6, 12, 24}
    assert all(isinstance(rate, Decimal) for rate in [*cn.tenors.values(), *us.tenors.values()])
    for terms in (cn, us):
        assert terms.minimum_amount == Decimal("500.00")
        assert terms.eligible_buckets == {Bucket.CURRENT}
        assert terms.first_due == "next_payment_due_date"
    assert cn.early_payoff_waives_future_fees is False
    assert us.early_payoff_waives_future_fees is True


def test_collection_defaults_are_contract_section_5() -> None:
    rules = load_policy(SHIPPED).collections
    early = rules.rules_for(Bucket.EARLY, US)
    assert early.promise is not None and early.promise.window_days.bot == 14
    assert early.late_fee_waiver is not None and early.late_fee_waiver.per_12_months.bot == 1
    assert early.escalate_to is Authority.AGENT

    mid = rules.rules_for(Bucket.MID, US)
    assert mid.hardship_plan is not None and mid.episode_fee_waiver is not None
    assert mid.hardship_plan.max_months.bot == 12
    assert mid.hardship_plan.min_down_payment_instalments.bot == 1
    assert mid.hardship_plan.max_interest_waiver_pct.bot == 0
    assert mid.episode_fee_waiver.max_pct.bot == 100

    late = rules.rules_for(Bucket.LATE, US)
    assert late.hardship_plan is not None
    assert late.hardship_plan.max_months.bot == 36
    assert late.hardship_plan.max_months.lowest_allowing(37) is Authority.SUPERVISOR
    assert late.hardship_plan.max_months.lowest_allowing(61) is None
    assert late.hardship_plan.max_interest_waiver_pct.bot == 50

    npl = rules.rules_for(Bucket.NPL, US)
    assert npl.settlement is not None
    assert npl.settlement.min_pct.bot == 70
    assert npl.settlement.min_pct.agent == 50
    assert npl.settlement.min_pct.supervisor == 40
    assert npl.settlement.pay_within_days.bot == 30

    charged_off = rules.rules_for(Bucket.CHARGED_OFF, US)
    assert charged_off.escalate_to is Authority.SUPERVISOR
    assert charged_off.promise is None and charged_off.hardship_plan is None
    assert rules.episode_fee_kinds == {FeeKind.LATE, FeeKind.OVERLIMIT}
    assert rules.broken_promises_to_agent == 2


def test_cn_overrides_make_late_plans_need_an_agent() -> None:
    collections = load_policy(SHIPPED).collections
    cn_late = collections.rules_for(Bucket.LATE, CN)
    assert cn_late.hardship_plan is not None and cn_late.personalised_installment is not None
    assert cn_late.hardship_plan.max_months.bot is None
    assert cn_late.personalised_installment.max_periods.lowest_allowing(36) is Authority.AGENT
    assert cn_late.personalised_installment.max_periods.lowest_allowing(60) is (
        Authority.SUPERVISOR
    )
    # Rules the override does not name keep their defaults.
    assert cn_late.promise == collections.rules_for(Bucket.LATE, US).promise
    assert collections.rules_for(Bucket.LATE, US).personalised_installment is None


def test_contact_policy_is_contract_section_6() -> None:
    contact = load_policy(SHIPPED).contact
    for jurisdiction in Jurisdiction:
        rules = contact[jurisdiction]
        assert (rules.window.start, rules.window.end) == (time(8), time(21))
        assert (rules.sms.max_per_day, rules.sms.max_per_7_days) == (1, 3)
        assert {"STOP", "UNSUBSCRIBE", "退订", "TD", "取消", "停止"} <= set(rules.opt_out_words)
        assert set(rules.opt_in_words) == {"START", "UNSTOP", "YES"}
        assert set(rules.help_words) == {"HELP", "INFO", "帮助"}
    assert contact[US].calls.max_per_7_days == 7
    assert contact[US].calls.quiet_days_after_conversation == 7
    assert contact[CN].calls.max_per_day == 3


def test_settings_point_at_the_shipped_file_and_get_policy_caches() -> None:
    settings = Settings(_env_file=None)
    assert settings.policy_file == SHIPPED
    assert get_policy(settings) is get_policy(settings)


# --- numbers stay exact ---------------------------------------------------------------


def test_unquoted_yaml_numbers_never_pass_through_binary_floats(
    tmp_path: Path, shipped_text: str
) -> None:
    # 22 significant digits: a float would keep about 17 and lose the tail.
    exact = "0.007200000000000000000001"
    path = _write_changed(tmp_path, shipped_text, '      12: "0.0072"', f"      12: {exact}")
    assert load_policy(path).installments[CN].tenors[12] == Decimal(exact)


def test_get_policy_rereads_an_edited_file(tmp_path: Path, shipped_text: str) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(shipped_text, encoding="utf-8")
    settings = Settings(_env_file=None, policy_file=path)
    assert get_policy(settings).version == "2026.11-1"
    path.write_text(shipped_text.replace('"2026.11-1"', '"2026.12-1"'), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert get_policy(settings).version == "2026.12-1"
    clear_policy_cache()


# --- broken files name the field ----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('      12: "0.0072"', '      12: "0.72"', "installments.CN.tenors.12: Input should be"),
        ('      3: "0.0095"', '      3: "cheap"', "installments.CN.tenors.3: Input should be"),
        ('      6: "0.0089"', '      -6: "0.0089"', "installments.US.tenors.-6"),
        ('      24: "0.0070"', '      72: "0.0070"', "installments.CN.tenors.72: longer than"),
        ("    npl:                            # 90–179 DPD", "    nlp:", "collections.buckets.npl"),
        (
            "max_months: {bot: 36, supervisor: 60}",
            "max_months: {bot: 36, supervisor: 72}",
            "collections.buckets.late.hardship_plan.max_months.supervisor: 72",
        ),
        (
            "max_months: {bot: 12, agent: 60}",
            "max_months: {bot: 12, agent: 6}",
            "collections.buckets.mid.hardship_plan.max_months: a higher authority",
        ),
        (
            "min_pct: {bot: 70, agent: 50, supervisor: 40}",
            "min_pct: {bot: 70, agent: 80, supervisor: 40}",
            "collections.buckets.npl.settlement.min_pct: a higher authority's minimum",
        ),
        (
            "authorities: [bot, agent, supervisor]",
            "authorities: [agent, bot, supervisor]",
            "authorities: must be exactly [bot < agent < supervisor]",
        ),
        (
            "  broken_promises_to_agent: 2",
            "  broken_promise_to_agent: 2",
            "collections.broken_promise_to_agent: Extra inputs are not permitted",
        ),
        (
            "    calls: {max_per_day: 3}",
            "    calls: {max_per_day: -3}",
            "contact.CN.calls.max_per_day: Input should be greater than or equal to 0",
        ),
        (
            "    US: {}",
            "    US: {late: {escalate_to: null}}",
            "collections.overrides.US.late: escalate_to cannot be withdrawn",
        ),
        ('version: "2026.11-1"', "version: ''", "version: String should have at least 1"),
    ],
)
def test_a_broken_policy_names_the_file_and_the_field(
    tmp_path: Path, shipped_text: str, old: str, new: str, expected: str
) -> None:
    path = _write_changed(tmp_path, shipped_text, old, new)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert f"{path}: {expected}" in message


def test_every_bucket_and_jurisdiction_must_be_present(tmp_path: Path, shipped_text: str) -> None:
    path = _write_changed(tmp_path, shipped_text, "  US:\n    tenors:", "  USX:\n    tenors:")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert "installments.US: Field required" in str(caught.value)
    assert "installments.USX: Extra inputs are not permitted" in str(caught.value)


def test_contact_window_must_open_before_it_closes(tmp_path: Path, shipped_text: str) -> None:
    text = shipped_text.replace(
        'window: {start: "08:00", end: "21:00"}   #', 'window: {start: "21:00", end: "08:00"}   #'
    )
    path = tmp_path / "policy.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match=r"contact\.CN\.window: start must be before end"):
        load_policy(path)


def test_not_yaml_missing_and_empty_files_are_policy_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text('version: "x"\n  oops: [\n', encoding="utf-8")
    with pytest.raises(PolicyError, match=r"broken\.yml: line 2, column 3: not valid YAML"):
        load_policy(broken)
    with pytest.raises(PolicyError, match="cannot read the file"):
        load_policy(tmp_path / "missing.yml")
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(PolicyError, match="must be a mapping"):
        load_policy(empty)
    with pytest.raises(PolicyError, match="cannot read the file"):
        get_policy(Settings(_env_file=None, policy_file=tmp_path / "missing.yml"))


def test_an_error_inside_the_repository_is_named_relative_to_it() -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(PROJECT_ROOT / "policy" / "no-such-file.yml")
    assert str(caught.value).startswith("policy/no-such-file.yml: ")


def test_parse_policy_reports_every_problem() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy({"version": "1"}, "inline")
    problems = caught.value.problems
    assert "authorities: Field required" in problems
    assert "installments: Field required" in problems
    assert str(caught.value).splitlines()[0].startswith("inline: ")


# --- per-authority limits --------------------------------------------------------------------


def test_an_unlisted_authority_inherits_the_next_lower_limit() -> None:
    limits = UpTo[int](bot=36, supervisor=60)
    assert limits.limit_for(Authority.BOT) == 36
    assert limits.limit_for(Authority.AGENT) == 36
    assert limits.limit_for(Authority.SUPERVISOR) == 60
    assert [limits.lowest_allowing(m) for m in (1, 36, 37, 60, 61)] == [
        Authority.BOT,
        Authority.BOT,
        Authority.SUPERVISOR,
        Authority.SUPERVISOR,
        None,
    ]
    approval_only = UpTo[int](agent=36)
    assert approval_only.limit_for(Authority.BOT) is None
    assert approval_only.lowest_allowing(12) is Authority.AGENT


def test_minimum_limits_fall_as_authority_rises() -> None:
    limits = AtLeast[Decimal](bot=Decimal(70), agent=Decimal(50), supervisor=Decimal(40))
    assert limits.lowest_allowing(Decimal(75)) is Authority.BOT
    assert limits.lowest_allowing(Decimal(50)) is Authority.AGENT
    assert limits.lowest_allowing(Decimal("39.99")) is None
    with pytest.raises(ValueError, match="at least one"):
        UpTo[int]()
