"""Every red-flag message of the triage evaluation set is escalated through the real server."""

import pytest
import yaml

from bot.evaluation.e2e_eval import DEFAULT_SET, RestClient, evaluate, format_report, load_cases
from bot.settings import PROJECT_ROOT
from bot.triage import Level

pytestmark = pytest.mark.slow


def test_every_red_flag_is_escalated_end_to_end(assistant):
    cases = [c for c in load_cases(DEFAULT_SET) if Level.parse(c["level"]) >= Level.URGENT]
    assert len(cases) >= 90
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    report = evaluate(RestClient(assistant.rasa_url, assistant.token), cases, domain)
    assert report.misses == [], format_report(report)
    assert report.escalated == report.red_flags == len(cases)
    assert report.slot_set == report.red_flags
    assert report.emergencies_escalated == report.emergencies > 0
