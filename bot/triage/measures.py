"""Read body temperatures and stated durations out of a message.

Numbers are read from the text with regular expressions built from ``patterns.yml``; only the
word lists and thresholds are data, the grammar of "38,2 °C" or "over two weeks" is here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Pattern, Sequence

_DEGREE = r"(?:°|º|˚)"
_TEMPERATURE = re.compile(
    r"(?<![\w.,])(?P<number>\d{2,3}(?:[.,]\d{1,2})?)(?![\d])"
    rf"\s*(?P<degree>{_DEGREE})?\s*(?P<word>degrees?|deg\.?)?\s*"
    r"(?P<unit>celsius|centigrade|fahrenheit|c|f)?(?![a-z])"
)
_NEXT_WORD = re.compile(r"\s*([a-z%]+)")

# Temperatures said in words, as voice-to-text writes them: "a hundred and one point five",
# "thirty eight point nine", "thirty-nine degrees".
_DIGIT_WORDS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEEN_WORDS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14}
_TENS_WORDS = {"thirty": 30, "forty": 40}
_UNIT = "|".join(name for name in _DIGIT_WORDS if name not in ("zero", "oh"))
_FRACTION = "|".join(_DIGIT_WORDS)
_SPOKEN = re.compile(
    r"(?<![a-z])(?:(?:(?:a|one)[ -])?(?P<hundred>hundred)(?:[ -]and)?(?:[ -](?P<hunits>"
    + "|".join(_TEEN_WORDS)
    + "|"
    + _UNIT
    + r"))?"
    r"|(?P<tens>thirty|forty)[ -](?P<units>" + _UNIT + r"))"
    r"(?:[ -]point[ -](?P<fraction>" + _FRACTION + r"))?(?![a-z])"
)


@dataclass(frozen=True)
class Reading:
    """A body temperature found in the text."""

    start: int
    end: int
    text: str
    celsius: float
    fever: bool


def _words_pattern(words: Iterable[str]) -> Pattern[str]:
    alternatives = sorted((re.escape(str(word).lower()) for word in words), key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(alternatives) + r")(?![\w])")


class TemperatureReader:
    """Find temperatures and compare them with the fever threshold."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.threshold_c = float(settings["threshold_celsius"])
        self.threshold_f = float(settings["threshold_fahrenheit"])
        self.range_c = tuple(float(value) for value in settings["celsius_range"])
        self.range_f = tuple(float(value) for value in settings["fahrenheit_range"])
        self.context = _words_pattern(settings["context_words"])
        self.weather = _words_pattern(settings["weather_words"])
        self.strong = _words_pattern(settings["strong_fever_words"])
        self.not_followed_by = frozenset(str(word).lower() for word in settings["not_followed_by"])

    def _scale(self, value: float, unit: str) -> Optional[str]:
        if unit in ("c", "celsius", "centigrade"):
            return "c" if self.range_c[0] <= value <= self.range_c[1] else None
        if unit in ("f", "fahrenheit"):
            return "f" if self.range_f[0] <= value <= self.range_f[1] else None
        if self.range_c[0] <= value <= self.range_c[1]:
            return "c"
        if self.range_f[0] <= value <= self.range_f[1]:
            return "f"
        return None

    def read(self, text: str, sentence_of: Any) -> List[Reading]:
        """Return the temperatures in ``text`` (lower case); ``sentence_of(offset)`` gives its sentence."""
        readings = []
        for match in _TEMPERATURE.finditer(text):
            number = match.group("number")
            unit = (match.group("unit") or "").lower()
            has_unit = bool(unit or match.group("degree") or match.group("word"))
            is_decimal = "." in number or "," in number
            value = float(number.replace(",", "."))
            reading = self._reading(text, match, value, unit, has_unit, is_decimal, sentence_of)
            if reading is not None:
                readings.append(reading)
        for match in _SPOKEN.finditer(text):
            value, is_decimal = _spoken_value(match)
            unit = _spoken_unit(text, match.end())
            reading = self._reading(text, match, value, unit, bool(unit), is_decimal, sentence_of)
            if reading is not None:
                readings.append(reading)
        return readings

    def _reading(
        self,
        text: str,
        match: re.Match[str],
        value: float,
        unit: str,
        has_unit: bool,
        is_decimal: bool,
        sentence_of: Any,
    ) -> Optional[Reading]:
        """Return the reading ``match`` stands for, or None when it is no body temperature."""
        scale = self._scale(value, unit)
        if scale is None:
            return None
        follower = _NEXT_WORD.match(text, match.end())
        if not has_unit and follower and follower.group(1) in self.not_followed_by:
            return None
        sentence = sentence_of(match.start())
        if not has_unit and not is_decimal and not self.context.search(sentence):
            return None
        if self.weather.search(sentence) and not self.strong.search(sentence):
            return None
        celsius = value if scale == "c" else (value - 32.0) * 5.0 / 9.0
        fever = value >= (self.threshold_c if scale == "c" else self.threshold_f)
        end = match.end()
        while end > match.start() and text[end - 1].isspace():
            end -= 1
        return Reading(match.start(), end, text[match.start() : end], round(celsius, 1), fever)


def _spoken_value(match: re.Match[str]) -> tuple[float, bool]:
    """Return the number a spoken temperature names, and whether it has a decimal part."""
    if match.group("hundred"):
        units = match.group("hunits")
        whole = 100 + (_TEEN_WORDS.get(units) or _DIGIT_WORDS.get(units or "", 0))
    else:
        whole = _TENS_WORDS[match.group("tens")] + _DIGIT_WORDS[match.group("units")]
    fraction = match.group("fraction")
    if fraction is None:
        return float(whole), False
    return whole + _DIGIT_WORDS[fraction] / 10.0, True


_SPOKEN_UNIT = re.compile(r"\s*(?:degrees?\s*)?(celsius|centigrade|fahrenheit|c|f)?(?![a-z])")


def _spoken_unit(text: str, end: int) -> str:
    """Return the unit written after a spoken temperature ("celsius", "f"), or ""."""
    found = _SPOKEN_UNIT.match(text, end)
    return (found.group(1) or "") if found else ""


class DurationReader:
    """Find how long a symptom has lasted, or how long ago the treatment was, in whole days."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.numbers = {str(word).lower(): float(value) for word, value in settings["numbers"].items()}
        self.units = {str(word).lower(): float(value) for word, value in settings["units"].items()}
        self.phrases = {str(words).lower(): int(value) for words, value in settings["phrases"].items()}
        self.ignore_after = frozenset(str(word).lower() for word in settings["ignore_after"])
        self.maximum = int(settings["maximum_days"])
        number_words = sorted((re.escape(word) for word in self.numbers), key=len, reverse=True)
        units = sorted((re.escape(word) for word in self.units), key=len, reverse=True)
        more = sorted((re.escape(str(word).lower()) for word in settings["more_than"]), key=len, reverse=True)
        # Digits may touch their unit ("3wks"); number words need a space ("a day", not "and").
        number = r"(?:\d+(?:\.\d+)?(?=\s*[a-z+-])|(?:" + "|".join(number_words) + r")(?=\s))"
        self.pattern = re.compile(
            r"(?<![\w])(?:(?P<more>" + "|".join(more) + r")\s+)?"
            r"(?P<number>" + number + r")(?:\s*(?:-|to|or)\s*(?P<upper>\d+(?:\.\d+)?))?\+?"
            r"\s*(?P<unit>" + "|".join(units) + r")(?![a-z])"
        )
        prefixes = sorted(
            (re.escape(str(word).lower()) for word in settings["day_number_prefix"]), key=len, reverse=True
        )
        self.day_number = re.compile(r"(?<![\w])(?:" + "|".join(prefixes) + r")\s*(?P<day>\d{1,3})(?!\d)")
        self.ordinal_day = re.compile(r"(?<![\w])(?P<day>\d{1,3})(?:st|nd|rd|th)\s+day(?![a-z])")
        self.phrase_pattern = _words_pattern(self.phrases)

    def _number(self, text: str) -> float:
        if text in self.numbers:
            return self.numbers[text]
        return float(text)

    def _previous_word(self, text: str, start: int) -> str:
        words = re.findall(r"[a-z]+", text[max(0, start - 20) : start])
        return words[-1] if words else ""

    def read(self, text: str) -> List[int]:
        """Return every duration in ``text`` (lower case) in whole days, within the plausible range."""
        days: List[float] = []
        for match in self.pattern.finditer(text):
            if self._previous_word(text, match.start()) in self.ignore_after:
                continue
            value = self._number(match.group("upper") or match.group("number"))
            amount = value * self.units[match.group("unit")]
            if match.group("more"):
                amount += 1
            days.append(amount)
        for regex in (self.day_number, self.ordinal_day):
            days.extend(float(match.group("day")) for match in regex.finditer(text))
        days.extend(float(self.phrases[match.group(0)]) for match in self.phrase_pattern.finditer(text))
        return [int(amount + 1e-6) for amount in days if 0 <= amount <= self.maximum]


def longest(durations: Sequence[int], days_since: Optional[int]) -> Optional[int]:
    """Return the longest of the stated durations and the conversation's days since treatment."""
    values = list(durations) + ([days_since] if days_since is not None else [])
    return max(values) if values else None
