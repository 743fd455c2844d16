"""Temperatures and durations read from the text."""

from __future__ import annotations

from typing import List, Optional

import pytest

from bot.triage.config import TriageConfig
from bot.triage.measures import DurationReader, TemperatureReader, longest


@pytest.fixture(scope="module")
def temperatures(config: TriageConfig) -> TemperatureReader:
    return TemperatureReader(config.temperature)


@pytest.fixture(scope="module")
def durations(config: TriageConfig) -> DurationReader:
    return DurationReader(config.durations)


def _readings(reader: TemperatureReader, text: str) -> List[tuple]:
    return [(reading.text, reading.celsius, reading.fever) for reading in reader.read(text, lambda _: text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my temp is 38.5", [("38.5", 38.5, True)]),
        ("38,2°c", [("38,2°c", 38.2, True)]),
        ("101f", [("101f", 38.3, True)]),
        ("100.4 f", [("100.4 f", 38.0, True)]),
        ("temp of 39", [("39", 39.0, True)]),
        ("38 degrees celsius", [("38 degrees celsius", 38.0, True)]),
        ("37.2", [("37.2", 37.2, False)]),
        ("37.9 c", [("37.9 c", 37.9, False)]),
        ("99.5", [("99.5", 37.5, False)]),
        ("temperature 37", [("37", 37.0, False)]),
        # said in words, as voice-to-text writes them
        ("my temperature is a hundred and one point five", [("a hundred and one point five", 38.6, True)]),
        ("temp was a hundred point two", [("a hundred point two", 37.9, False)]),
        ("temp is thirty nine point two", [("thirty nine point two", 39.2, True)]),
        ("thirty-eight degrees celsius", [("thirty-eight", 38.0, True)]),
        ("a hundred and two fahrenheit", [("a hundred and two", 38.9, True)]),
        ("temperature thirty six point eight", [("thirty six point eight", 36.8, False)]),
    ],
)
def test_temperature_readings(temperatures: TemperatureReader, text: str, expected: List[tuple]) -> None:
    assert _readings(temperatures, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "i'm 38 years old",
        "38 days since",
        "it's 40 degrees outside",
        "the water was 39 degrees in the shower",
        "a 40 mm needle",
        "i paid 100 for it",
        "day 38",
        "20% off",
        "the 1.5 mm needles",
        "a hundred percent better",
        "thirty seven spots",
        "thirty nine days since",
        "a hundredth of the pain",
    ],
)
def test_numbers_that_are_not_body_temperatures(temperatures: TemperatureReader, text: str) -> None:
    assert _readings(temperatures, text) == []


@pytest.mark.parametrize(
    "text, longest_days",
    [
        ("still peeling after 3 weeks", [21]),
        ("redness for 10 days", [10]),
        ("over two weeks", [15]),
        ("more than a week", [8]),
        ("a fortnight", [14]),
        ("a couple of weeks", [14]),
        ("a few days", [3]),
        ("48 hours", [2]),
        ("2-3 days", [3]),
        ("3wks post", [21]),
        ("day 16", [16]),
        ("16th day", [16]),
        ("yesterday", [1]),
        ("a week and a half ago", [10]),
        ("a month", [30]),
        ("next session in 4 weeks", []),
        ("every 4 weeks", []),
        ("acne for 10 years", []),
    ],
)
def test_durations(durations: DurationReader, text: str, longest_days: List[int]) -> None:
    days = durations.read(text)
    assert ([max(days)] if days else []) == longest_days


@pytest.mark.parametrize(
    "stated, days_since, expected",
    [([], None, None), ([3], None, 3), ([3], 10, 10), ([21, 2], 5, 21)],
)
def test_longest_duration(stated: List[int], days_since: Optional[int], expected: Optional[int]) -> None:
    assert longest(stated, days_since) == expected
