"""Every action, slot and response name the code uses: one home shared by ``bot`` and ``actions``.

These names are a contract with domain.yml and with tools outside the repository; a test
(tests/actions/test_domain_contract.py) checks that each one exists in the domain. Never rename.
"""

# Slots.
TRIAGE_LEVEL = "triage_level"
DAYS_SINCE_PROCEDURE = "days_since_procedure"
PROCEDURE = "procedure"
DISCLAIMER_SHOWN = "disclaimer_shown"
LAST_TOPIC = "last_topic"
# Set by the SafetyPolicy: the treatment date (ISO) and the verdict of the latest turn (bot.verdict).
TREATMENT_DATE = "treatment_date"
TRIAGE_VERDICT = "triage_verdict"

# Slots that carry clinic settings into domain responses, mapped to ClinicSettings template keys.
CLINIC_SLOTS = {
    "clinic_name": "clinic_name",
    "clinic_phone": "clinic_phone",
    "emergency_number": "emergency_number",
    "clinic_response_time": "response_time",
    # Response-time targets per level (bot.knowledge.deadline_policy.target_values).
    "response_target_emergency": "response_target_emergency",
    "response_target_urgent": "response_target_urgent",
    "response_target_routine": "response_target_routine",
    "response_target_handoff": "response_target_handoff",
    # The clinic's own out-of-hours route, said in the escalation reply when it is closed.
    "out_of_hours": "out_of_hours",
}
# Whether the clinic is open at the patient's message (its opening hours); set by the
# SafetyPolicy with the slots above, it picks the escalation reply's out-of-hours wording.
CLINIC_OPEN = "clinic_open"

# Custom actions (served by actions/).
ACTION_ANSWER_QUESTION = "action_answer_question"
ACTION_ACKNOWLEDGE_DETAILS = "action_acknowledge_details"
ACTION_RECORD_FLAG = "action_record_flag"
ACTION_REQUEST_HUMAN = "action_request_human"
ACTION_FLAG_FALLBACK = "action_flag_fallback"
# Rasa's own.
ACTION_LISTEN = "action_listen"

# Responses the code chooses by name.
UTTER_ESCALATE_EMERGENCY = "utter_escalate_emergency"
UTTER_ESCALATE_URGENT = "utter_escalate_urgent"
UTTER_ESCALATE_ROUTINE = "utter_escalate_routine"
UTTER_DISCLAIMER = "utter_disclaimer"
UTTER_ASK_SAFETY_QUESTIONS = "utter_ask_safety_questions"
UTTER_ASK_DAYS_SINCE = "utter_ask_days_since"
UTTER_KB_ANSWER = "utter_kb_answer"
UTTER_NO_ANSWER = "utter_no_answer"
UTTER_OFFER_MORE = "utter_offer_more"
UTTER_SYMPTOM_NOT_REPORTED = "utter_symptom_not_reported"
UTTER_DETAILS_NOTED = "utter_details_noted"
UTTER_PROCEDURE_NOTED = "utter_procedure_noted"
UTTER_FLAG_RECORDED = "utter_flag_recorded"
UTTER_FLAG_DETAIL = "utter_flag_detail"
UTTER_HANDOFF = "utter_handoff"
UTTER_HANDOFF_FAILED = "utter_handoff_failed"
UTTER_FALLBACK_FLAGGED = "utter_fallback_flagged"

# Keys of a knowledge answer's bot-event metadata naming its exact source for staff (the
# patient reads only the source's title): written by the action, read by the dashboard.
SOURCE_FILES_KEY = "source_files"
ENTRY_ID_KEY = "knowledge_entry"
