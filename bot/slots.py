"""Slot names shared by the Rasa components, the actions and the dashboard (a contract: never rename)."""

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
}
