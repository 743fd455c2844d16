"""Webhook bodies in the providers' documented shapes, and helpers to sign them."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bot.channels.security import meta_signature

PHONE_NUMBER_ID = "106540352242922"


def whatsapp_event(messages: List[Dict[str, Any]], phone_number_id: str = PHONE_NUMBER_ID) -> Dict[str, Any]:
    """A WhatsApp Cloud API ``messages`` webhook (Meta's documented envelope)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [{"profile": {"name": "Sam"}, "wa_id": messages[0].get("from")}]
                            if messages
                            else [],
                            "messages": messages,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def whatsapp_text(sender: str, message_id: str, body: str) -> Dict[str, Any]:
    return {
        "from": sender,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
    }


def whatsapp_button_reply(sender: str, message_id: str, title: str) -> Dict[str, Any]:
    return {
        "from": sender,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "b0", "title": title}},
    }


def whatsapp_image(sender: str, message_id: str, caption: Optional[str] = None) -> Dict[str, Any]:
    image: Dict[str, Any] = {"mime_type": "image/jpeg", "sha256": "abc", "id": "1234567890"}
    if caption:
        image["caption"] = caption
    return {
        "from": sender,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": "image",
        "image": image,
    }


def whatsapp_voice(sender: str, message_id: str) -> Dict[str, Any]:
    audio = {"mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "id": "987", "voice": True}
    return {
        "from": sender,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "type": "audio",
        "audio": audio,
    }


def whatsapp_status(recipient: str, message_id: str) -> Dict[str, Any]:
    """A delivery-status callback (no patient message in it)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "statuses": [
                                {
                                    "id": message_id,
                                    "status": "delivered",
                                    "timestamp": str(int(time.time())),
                                    "recipient_id": recipient,
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def signed(payload: Dict[str, Any], app_secret: str) -> tuple[bytes, Dict[str, str]]:
    """The body and headers of a genuine Meta delivery."""
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, app_secret)}


def telegram_text(update_id: int, chat_id: int, text: str, chat_type: str = "private") -> Dict[str, Any]:
    """A Bot API ``Update`` with a text message."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100000,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam", "language_code": "en"},
            "chat": {"id": chat_id, "first_name": "Sam", "type": chat_type},
            "date": int(time.time()),
            "text": text,
        },
    }


def telegram_photo(update_id: int, chat_id: int, caption: Optional[str] = None) -> Dict[str, Any]:
    update = telegram_text(update_id, chat_id, "")
    message = update["message"]
    del message["text"]
    message["photo"] = [
        {"file_id": "AgAD", "file_unique_id": "AQAD", "file_size": 1234, "width": 90, "height": 90}
    ]
    if caption:
        message["caption"] = caption
    return update


def telegram_voice(update_id: int, chat_id: int) -> Dict[str, Any]:
    update = telegram_text(update_id, chat_id, "")
    message = update["message"]
    del message["text"]
    message["voice"] = {"file_id": "AwAD", "file_unique_id": "AgAD", "duration": 3, "mime_type": "audio/ogg"}
    return update


def telegram_callback(update_id: int, chat_id: int, data: str) -> Dict[str, Any]:
    """A Bot API ``Update`` for a tapped inline-keyboard button."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
            "message": {
                "message_id": 7,
                "from": {"id": 1, "is_bot": True, "first_name": "Aftercare"},
                "chat": {"id": chat_id, "first_name": "Sam", "type": "private"},
                "date": int(time.time()),
                "text": "Pick one",
            },
            "chat_instance": "-1234",
            "data": data,
        },
    }


def twilio_form(
    message_sid: str, sender: str, body: str, to: str = "+15005550006", **extra: str
) -> Dict[str, str]:
    """The form fields of a Twilio incoming-message webhook."""
    fields = {
        "ToCountry": "US",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "SmsSid": message_sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    fields.update(extra)
    return fields


def twilio_signed(url: str, fields: Dict[str, str], auth_token: str) -> tuple[bytes, Dict[str, str]]:
    """The body and headers of a genuine Twilio delivery to ``url``."""
    signature = RequestValidator(auth_token).compute_signature(url, fields)
    return urlencode(fields).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }


def whatsapp_bsuid_text(user_id: str, message_id: str, body: str) -> Dict[str, Any]:
    """A ``messages`` webhook from a patient who hides their number behind a username.

    Meta then omits ``from`` and ``wa_id``; the business-scoped user id (BSUID) is in the
    message's ``from_user_id`` and the contact's ``user_id``.
    """
    event = whatsapp_event(
        [
            {
                "from_user_id": user_id,
                "id": message_id,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": body},
            }
        ]
    )
    event["entry"][0]["changes"][0]["value"]["contacts"] = [
        {"profile": {"name": "Sam", "username": "@sam"}, "user_id": user_id}
    ]
    return event


def whatsapp_unsupported(sender: str, message_id: str) -> Dict[str, Any]:
    """A message type the Cloud API cannot deliver (a poll, a view-once photo...)."""
    return {
        "from": sender,
        "id": message_id,
        "timestamp": str(int(time.time())),
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ],
        "type": "unsupported",
    }


def telegram_edited(update_id: int, chat_id: int, text: str) -> Dict[str, Any]:
    """A Bot API ``Update`` for a message the patient edited (``edited_message`` with ``edit_date``)."""
    update = telegram_text(update_id, chat_id, text)
    message = update.pop("message")
    message["edit_date"] = message["date"] + 30
    update["edited_message"] = message
    return update


def telegram_callback_without_message(update_id: int, chat_id: int, data: str) -> Dict[str, Any]:
    """A tap on a button of an inline message: the ``callback_query`` carries no ``message``."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
            "inline_message_id": "AAAAAFo3AAB3pL1J",
            "chat_instance": "-1234",
            "data": data,
        },
    }


def twilio_whatsapp_location(
    message_sid: str, sender: str, to: str = "whatsapp:+15005550006"
) -> Dict[str, str]:
    """A WhatsApp location shared through Twilio: no ``Body``, only coordinates."""
    return twilio_form(
        message_sid,
        sender,
        "",
        to=to,
        Latitude="51.5072",
        Longitude="-0.1276",
        Address="Trafalgar Square, London",
        Label="Home",
        MessageType="location",
        ProfileName="Sam",
        WaId=sender.removeprefix("whatsapp:").lstrip("+"),
    )
