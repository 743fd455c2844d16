"""Domain names the check-in actions use (each checked against domain.yml by a test)."""

CHECKIN_OFFER = "checkin_offer"
OFFER_ASKED = "asked"
OFFER_ANSWERED = "answered"

ACTION_RECORD_CHECKIN_CONSENT = "action_record_checkin_consent"
ACTION_DECLINE_CHECKINS = "action_decline_checkins"
ACTION_CHECKIN_OPT_OUT = "action_checkin_opt_out"
ACTION_CHECKIN_OPT_IN = "action_checkin_opt_in"

UTTER_ASK_CHECKIN_CONSENT = "utter_ask_checkin_consent"
UTTER_CHECKIN_CONSENT_RECORDED = "utter_checkin_consent_recorded"
UTTER_CHECKIN_UNAVAILABLE = "utter_checkin_unavailable"
UTTER_CHECKIN_DECLINED = "utter_checkin_declined"
UTTER_CHECKIN_OPTED_OUT = "utter_checkin_opted_out"
UTTER_CHECKIN_OPTED_IN = "utter_checkin_opted_in"
# The ordinary answers to a yes or no (an expired offer's), and to a message not understood.
UTTER_AFFIRM = "utter_affirm"
UTTER_DENY = "utter_deny"
UTTER_ASK_REPHRASE = "utter_ask_rephrase"

INTENT_CHECKIN_STOP = "checkin_stop"
INTENT_CHECKIN_START = "checkin_start"

SLOTS = (CHECKIN_OFFER,)
ACTIONS = (
    ACTION_RECORD_CHECKIN_CONSENT,
    ACTION_DECLINE_CHECKINS,
    ACTION_CHECKIN_OPT_OUT,
    ACTION_CHECKIN_OPT_IN,
)
RESPONSES = (
    UTTER_ASK_CHECKIN_CONSENT,
    UTTER_CHECKIN_CONSENT_RECORDED,
    UTTER_CHECKIN_UNAVAILABLE,
    UTTER_CHECKIN_DECLINED,
    UTTER_CHECKIN_OPTED_OUT,
    UTTER_CHECKIN_OPTED_IN,
    UTTER_AFFIRM,
    UTTER_DENY,
    UTTER_ASK_REPHRASE,
)
INTENTS = (INTENT_CHECKIN_STOP, INTENT_CHECKIN_START)
