"""Patient channels: the website widget, WhatsApp Cloud API, Telegram and Twilio SMS.

Each connector is a Rasa ``InputChannel`` that authenticates every request (HMAC
signatures, secret tokens, signed widget sessions), hands the patient's words to Rasa as
plain text (never as an ``/intent`` command), records each provider message id so a
retried delivery is answered once, and flags media it cannot read for staff review.

``bot.channels.config`` writes the Rasa credentials file with only the channels whose
environment variables are set.
"""
