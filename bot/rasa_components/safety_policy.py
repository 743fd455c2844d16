"""A Rasa policy that lets no red flag through, whatever the intent classifier decided.

It is the one triage judge of each turn (``bot.verdict``): on the first prediction after a
user message it reads the treatment date (updating it when the message dates the
treatment), derives ``days_since_procedure`` for the message's own date (the event
timestamp is the clock, so days advance with the calendar), runs the triage engine once,
and stores the verdict in ``triage_verdict`` for the actions and the flag writer. It
predicts the escalation response before anything else, keeps ``triage_level`` at the
highest level reached, records that a flag is owed (``bot.reconciler``) before the reply
leaves, and closes each turn (fallback flag, first-message disclaimer). With priority
above ``RulePolicy`` and confidence 1.0 it wins whenever it speaks; when it abstains the
rules decide. While a member of staff has taken the conversation over (``bot.storage.takeover``,
read from the database on each turn) it lets only the safety net act (escalation, flag,
safety questions) and otherwise listens, so staff answer.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData, confidence_scores_for
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.conversation import triage_flag_for
from bot.knowledge import load_clinic_settings
from bot.knowledge.clinic import ClinicSettings
from bot.names import (
    ACTION_LISTEN,
    ACTION_RECORD_FLAG,
    CLINIC_OPEN,
    CLINIC_SLOTS,
    DAYS_SINCE_PROCEDURE,
    DISCLAIMER_SHOWN,
    PROCEDURE,
    TREATMENT_DATE,
    TRIAGE_LEVEL,
    TRIAGE_VERDICT,
    UTTER_ASK_DAYS_SINCE,
    UTTER_ASK_SAFETY_QUESTIONS,
    UTTER_DISCLAIMER,
)
from bot.reconciler import OwedFlagRecorder, recorder_engine
from bot.safety import ESCALATION_RESPONSES, TurnState, next_action
from bot.settings import Settings
from bot.storage import make_session_factory
from bot.storage.owed_flags import OwedFlagDetails
from bot.storage.owed_journal import journal_path
from bot.storage.takeover import TakeoverReader
from bot.treatment_date import parse_iso_date
from bot.triage import Level, assess
from bot.triage.clarify import decide_for_message
from bot.verdict import (
    ALSO_ANSWER_KEY,
    CLARIFY_KEY,
    TurnFacts,
    also_answer,
    judge_turn,
    turn_key,
    verdict_for,
    verdict_level,
)

logger = logging.getLogger(__name__)

_NOT_A_RESPONSE = {"action_listen", "action_extract_slots", "action_session_start"}
ASK_DAYS_RESPONSE = UTTER_ASK_DAYS_SINCE
# What still happens while staff have taken a conversation over: the safety net.
SAFETY_NET_ACTIONS = frozenset(
    {*ESCALATION_RESPONSES.values(), ACTION_RECORD_FLAG, UTTER_ASK_SAFETY_QUESTIONS}
)


def local_date(timestamp: Optional[float]) -> date:
    """Return the calendar date of a message (server local time), the policy's clock."""
    return datetime.fromtimestamp(timestamp).date() if timestamp else date.today()


def message_time(timestamp: Optional[float]) -> datetime:
    """Return when a message came (UTC), the clock of the opening-hours decision."""
    return datetime.fromtimestamp(timestamp, timezone.utc) if timestamp else datetime.now(timezone.utc)


@lru_cache(maxsize=1)
def _clinic() -> ClinicSettings:
    return load_clinic_settings(Settings.from_env())


def clinic_slot_values(clinic: ClinicSettings, moment: datetime) -> Dict[str, Any]:
    """The clinic slots for a message at ``moment``: targets and wording as the deadline worker decides."""
    values = clinic.as_template_values(moment)
    slots: Dict[str, Any] = {slot: str(values[key]) for slot, key in CLINIC_SLOTS.items() if key in values}
    slots[CLINIC_OPEN] = clinic.deadlines.hours.is_open(moment)
    return slots


@lru_cache(maxsize=4)
def _default_recorder(database_url: str, var_dir: str) -> OwedFlagRecorder:
    factory = make_session_factory(recorder_engine(database_url))
    return OwedFlagRecorder(lambda: factory, journal_path(Path(var_dir)))


def default_recorder() -> OwedFlagRecorder:
    """Return the Rasa process's owed-flag recorder, built on first use from the settings."""
    settings = Settings.from_env()
    return _default_recorder(settings.database_url, str(settings.var_dir))


@lru_cache(maxsize=4)
def _takeover_reader(database_url: str, idle_minutes: int) -> TakeoverReader:
    return TakeoverReader(database_url, timedelta(minutes=idle_minutes))


def default_takeover_check(conversation_id: str) -> bool:
    """Whether a member of staff holds the conversation now (from the database; False if unreadable)."""
    settings = Settings.from_env()
    return _takeover_reader(settings.database_url, settings.staff_replies.takeover_idle_minutes)(
        conversation_id
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class SafetyPolicy(Policy):
    """Escalate red flags deterministically; never lower ``triage_level``."""

    # Replaceable in tests: where owed flags are recorded, the date of a message, and its time
    # (whether the clinic is open then).
    recorder_provider: Callable[[], OwedFlagRecorder] = staticmethod(default_recorder)
    clock: Callable[[Optional[float]], date] = staticmethod(local_date)
    moment: Callable[[Optional[float]], datetime] = staticmethod(message_time)
    takeover_check: Callable[[str], bool] = staticmethod(default_takeover_check)

    @staticmethod
    def supported_data() -> SupportedData:
        """Train on nothing: the policy's behaviour is fixed by ``bot.safety``."""
        return SupportedData.ML_AND_RULE_DATA

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Rank above ``RulePolicy`` (priority 6)."""
        return {"priority": 7}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        assess("warm up")  # build the triage pipeline now, not on the first patient message

    def train(self, training_trackers: List[Any], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predict the safety layer's action with full confidence, or abstain."""
        latest = _latest_turn(tracker)
        if latest is None:
            return self._prediction(self._default_predictions(domain))
        user_events, acted = latest
        verdict, events = self._verdict(tracker, user_events[0], domain)
        turn = TurnState(
            level=verdict_level(verdict),
            actions_this_turn=acted,
            intent=user_events[0].intent_name,
            previous_intent=user_events[1].intent_name if len(user_events) > 1 else None,
            disclaimer_shown=bool(tracker.get_slot(DISCLAIMER_SHOWN)),
            clarify=bool(verdict.get(CLARIFY_KEY)),
        )
        events += _level_and_clinic_events(tracker, turn.level, self.moment(user_events[0].timestamp))
        action = next_action(turn)
        if (
            action != ACTION_LISTEN
            and action not in SAFETY_NET_ACTIONS
            and self.takeover_check(tracker.sender_id)
        ):
            action = ACTION_LISTEN  # staff answer this conversation now
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(self._default_predictions(domain), events=events)
        if action in ESCALATION_RESPONSES.values():
            self._record_owed_flag(tracker, user_events[0], verdict)
        optional: List[Event] = []
        if action == UTTER_DISCLAIMER:
            optional.append(SlotSet(DISCLAIMER_SHOWN, True))
        return self._prediction(
            confidence_scores_for(action, 1.0, domain), events=events, optional_events=optional
        )

    def _verdict(
        self, tracker: DialogueStateTracker, latest: UserUttered, domain: Domain
    ) -> Tuple[Dict[str, Any], List[Event]]:
        """Return this turn's verdict: the stored one, or judge the message now (once per turn)."""
        key = turn_key(latest.message_id, latest.timestamp)
        stored = verdict_for(tracker.get_slot(TRIAGE_VERDICT), key)
        if stored is not None:
            return dict(stored), []
        facts = TurnFacts(
            text=latest.text or "",
            turn_key=key,
            today=self.clock(latest.timestamp),
            intent=latest.intent_name,
            asked_for_date=_asked_for_date(tracker),
            treatment_date=self._treatment_date(tracker),
            procedure=tracker.get_slot(PROCEDURE),
        )
        judgement = judge_turn(facts)
        # Ask the safety questions when unsure (bot.triage.clarify): decided once, kept on the
        # verdict; never twice in a row.
        asked = _asked_since_previous_message(tracker, UTTER_ASK_SAFETY_QUESTIONS)
        clarification = decide_for_message(facts.text, judgement.result, latest.parse_data, asked)
        ranking = (latest.parse_data or {}).get("intent_ranking") or []
        verdict = {
            **judgement.verdict,
            CLARIFY_KEY: clarification.rule if clarification.ask else None,
            ALSO_ANSWER_KEY: also_answer(judgement.result, latest.intent_name, ranking, facts.text),
        }
        events: List[Event] = []
        if judgement.treatment_date is not None:
            iso = judgement.treatment_date.isoformat()
            if tracker.get_slot(TREATMENT_DATE) != iso:
                events.append(SlotSet(TREATMENT_DATE, iso))
        if judgement.days_since is not None and tracker.get_slot(DAYS_SINCE_PROCEDURE) != float(
            judgement.days_since
        ):
            events.append(SlotSet(DAYS_SINCE_PROCEDURE, float(judgement.days_since)))
        if any(slot.name == TRIAGE_VERDICT for slot in domain.slots):
            events.append(SlotSet(TRIAGE_VERDICT, verdict))
        return verdict, events

    def _treatment_date(self, tracker: DialogueStateTracker) -> Optional[date]:
        """Return the stored treatment date; for a conversation from before the slot, date its day count."""
        stored = parse_iso_date(tracker.get_slot(TREATMENT_DATE))
        days = tracker.get_slot(DAYS_SINCE_PROCEDURE)
        if stored is not None or days is None:
            return stored
        for event in reversed(tracker.applied_events()):
            if isinstance(event, SlotSet) and event.key == DAYS_SINCE_PROCEDURE and event.value is not None:
                return self.clock(event.timestamp) - timedelta(days=int(float(event.value)))
        return None

    def _record_owed_flag(
        self, tracker: DialogueStateTracker, latest: UserUttered, verdict: Dict[str, Any]
    ) -> None:
        """Leave a durable "flag owed" record before the escalation reply is sent; never raise."""
        try:
            flag = triage_flag_for(verdict)
            if flag is None:
                return
            details = OwedFlagDetails(
                conversation_id=tracker.sender_id,
                turn_key=str(verdict.get("turn_key")),
                kind="triage",
                channel=latest.input_channel or "unknown",
                level=flag.level,
                reason=flag.reason,
                rule=flag.rule,
                matched_text=flag.matched_text,
                message=latest.text or "",
                channel_user_id=tracker.sender_id,
            )
            self.recorder_provider().record(details)
        except Exception as error:  # noqa: BLE001 - the escalation reply must go out regardless
            logger.error("Owed flag not recorded (%s).", type(error).__name__)


def _latest_turn(tracker: DialogueStateTracker) -> Optional[Tuple[List[UserUttered], List[str]]]:
    """Return the last two user events (newest first) and the actions taken since the last one."""
    acted: List[str] = []
    user_events: List[UserUttered] = []
    for event in reversed(tracker.applied_events()):
        if isinstance(event, UserUttered):
            user_events.append(event)
            if len(user_events) == 2:
                break
        elif (
            isinstance(event, ActionExecuted)
            and not user_events
            and event.action_name
            and event.action_name not in _NOT_A_RESPONSE
        ):
            acted.append(event.action_name)
    if not user_events:
        return None
    return user_events, list(reversed(acted))


def _asked_for_date(tracker: DialogueStateTracker) -> bool:
    """Tell whether the assistant asked when the treatment was since the patient's previous message."""
    return _asked_since_previous_message(tracker, ASK_DAYS_RESPONSE)


def _asked_since_previous_message(tracker: DialogueStateTracker, response: str) -> bool:
    """Tell whether the assistant sent ``response`` between the previous and the latest user message."""
    seen_user = False
    for event in reversed(tracker.applied_events()):
        if isinstance(event, UserUttered):
            if seen_user:
                return False
            seen_user = True
        elif seen_user and isinstance(event, BotUttered):
            if (event.metadata or {}).get("utter_action") == response:
                return True
        elif seen_user and isinstance(event, ActionExecuted) and event.action_name == response:
            return True
    return False


def _level_and_clinic_events(tracker: DialogueStateTracker, level: Level, moment: datetime) -> List[Event]:
    events: List[Event] = []
    current = Level.parse(tracker.get_slot(TRIAGE_LEVEL) or "none")
    if level > current:
        events.append(SlotSet(TRIAGE_LEVEL, level.value))
    try:
        clinic = clinic_slot_values(_clinic(), moment)
    except Exception:  # the escalation must go out even if clinic settings are broken
        logger.exception("Clinic settings could not be loaded; escalation replies keep their defaults.")
        clinic = {}
    events += [SlotSet(slot, value) for slot, value in clinic.items() if tracker.get_slot(slot) != value]
    return events
