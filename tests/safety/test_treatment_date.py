"""The treatment date: only a mention about the treatment sets it; days derive from it."""

from datetime import date

import pytest

from bot.treatment_date import MessageContext, days_since_treatment, treatment_date_in
from bot.triage import assess

TODAY = date(2026, 11, 21)  # a Saturday


def _days(text, intent=None, asked=False):
    result = assess(text)
    spans = [(f.start, f.end) for f in [*result.findings, *result.negated]]
    found = treatment_date_in(text, TODAY, MessageContext(intent, asked, spans))
    return (TODAY - found).days if found else None


ABOUT_THE_TREATMENT = [
    ("treated 20 days ago", 20),
    ("I was treated 3 days ago", 3),
    ("3 days ago", 3),
    ("yesterday", 1),
    ("on Monday", 5),
    ("on the 2nd", 19),
    ("a fortnight ago", 14),
    ("I had microneedling 3 days ago and a fever since yesterday", 3),
    ("it's been 3 days since my dermapen", 3),
    ("today is day 5", 5),
    ("my skin has been peeling since my treatment on monday", 5),
    ("I have had a fever for 2 days since my treatment last week", 7),
    ("I had a dermapen yesterday and it hurts", 1),
    ("I had it done 12 days ago", 12),
    ("my session was yesterday", 1),
]

ABOUT_SOMETHING_ELSE = [
    "fever since yesterday",
    "I've had a fever since yesterday",
    "still peeling for 10 days",
    "the pain started yesterday after my treatment",
    "my face has been red since yesterday",
    "it has hurt for the past 3 days",
    "not 3 days ago",
    "hello there",
]


@pytest.mark.parametrize(("text", "days"), ABOUT_THE_TREATMENT)
def test_a_mention_about_the_treatment_dates_it(text, days):
    assert _days(text) == days


@pytest.mark.parametrize("text", ABOUT_SOMETHING_ELSE)
def test_a_symptom_or_duration_does_not_date_the_treatment(text):
    assert _days(text) is None


def test_a_correction_replaces_the_date_and_skips_what_it_negates():
    assert _days("sorry, it was 5 days ago, not 3") == 5
    assert _days("not 3 days ago, 5 days ago", intent="inform") == 5
    assert _days("it wasn't monday, it was sunday", intent="inform") == 6


def test_a_bare_date_counts_when_it_answers_the_question():
    assert _days("it was 6 days ago I think", asked=True) == 6
    assert _days("it was 6 days ago I think") is None


def test_days_since_treatment_counts_calendar_days_and_never_goes_negative():
    assert days_since_treatment(date(2026, 11, 1), TODAY) == 20
    assert days_since_treatment(TODAY, TODAY) == 0
    assert days_since_treatment(date(2026, 11, 30), TODAY) == 0
