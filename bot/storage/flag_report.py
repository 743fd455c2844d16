"""Per-rule figures for ``aftercare report flags``: true/false alarms, time to acknowledge, misses."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.deadline_models import FlagDeadline
from bot.storage.models import Flag
from bot.storage.vocabulary import FALSE_ALARM, TRUE_ALARM


@dataclass(frozen=True)
class RuleFigures:
    """What happened to the flags one rule raised."""

    rule: str
    flags: int
    true_alarms: int
    false_alarms: int
    unjudged: int
    acknowledged: int
    median_to_acknowledge: Optional[timedelta]
    missed_deadlines: int

    @property
    def false_alarm_rate(self) -> Optional[float]:
        judged = self.true_alarms + self.false_alarms
        return self.false_alarms / judged if judged else None


def rule_figures(*, session: Session, since: datetime) -> List[RuleFigures]:
    """Figures per rule for flags created at or after ``since``, most flags first."""
    missed = dict(
        session.execute(
            select(FlagDeadline.flag_id, func.count(FlagDeadline.id))
            .where(FlagDeadline.steps_done > 0)
            .group_by(FlagDeadline.flag_id)
        ).all()
    )
    rows = session.execute(select(Flag).where(Flag.created_at >= since).order_by(Flag.id)).scalars()
    by_rule: Dict[str, List[Flag]] = {}
    for flag in rows:
        by_rule.setdefault(str(flag.rule), []).append(flag)
    figures = []
    for rule, flags in by_rule.items():
        waits = [f.acknowledged_at - f.created_at for f in flags if f.acknowledged_at is not None]
        alarms = [f.alarm for f in flags]
        figures.append(
            RuleFigures(
                rule=rule,
                flags=len(flags),
                true_alarms=alarms.count(TRUE_ALARM),
                false_alarms=alarms.count(FALSE_ALARM),
                unjudged=sum(1 for f in flags if f.status == "resolved" and f.alarm is None),
                acknowledged=len(waits),
                median_to_acknowledge=statistics.median(waits) if waits else None,
                missed_deadlines=sum(1 for f in flags if missed.get(f.id)),
            )
        )
    return sorted(figures, key=lambda item: (-item.flags, item.rule))
