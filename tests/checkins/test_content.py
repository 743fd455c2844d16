"""The check-in texts: every day has one, in our own words, with the three quick replies."""

from __future__ import annotations

from bot.checkins.content import CheckinContent
from bot.knowledge.originality import copied_runs
from bot.settings import PROJECT_ROOT

CLINIC = {"clinic_name": "Test Clinic", "clinic_phone": "+44 20 0000 0000"}


def test_each_check_in_day_names_normal_and_red_flags(content: CheckinContent) -> None:
    one, three, seven = (content.render(day, CLINIC) for day in (1, 3, 7))
    assert "day 1" in one.text and "Test Clinic" in one.text
    assert one.parts["normal"] != three.parts["normal"] != seven.parts["normal"]
    assert "pus" in three.parts["watch_for"]
    assert "STOP" in seven.text
    assert one.quick_replies == ("All fine", "I have a question", "Something is wrong")


def test_written_in_our_own_words(content: CheckinContent) -> None:
    seeds = PROJECT_ROOT.parent / "shared" / "seeds"
    sources = [p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt"))] if seeds.is_dir() else []
    for entry in content.days:
        assert copied_runs(entry.normal + " " + entry.watch_for, sources) == []


def test_sources_are_known(content: CheckinContent) -> None:
    import yaml

    known = yaml.safe_load((PROJECT_ROOT / "knowledge" / "sources.yml").read_text(encoding="utf-8"))[
        "sources"
    ]
    assert all(source in known for entry in content.days for source in entry.sources)
