"""Action names, in one place so the domain test can check each against ``domain.yml``."""

ACTION_ANSWER_QUESTION = "action_answer_question"
ACTION_ACKNOWLEDGE_DETAILS = "action_acknowledge_details"
ACTION_RECORD_FLAG = "action_record_flag"
ACTION_REQUEST_HUMAN = "action_request_human"
ACTION_FLAG_FALLBACK = "action_flag_fallback"
