"""Proactive check-ins after a treatment: enrolment, consent, schedule, opt-out and the worker.

- ``content``: the check-in texts (``knowledge/checkins.yml``);
- ``schedule``: when each check-in is due, in clinic local time, as UTC moments;
- ``enrolment``: enrol a patient, record consent, pause/cancel, CSV import;
- ``optout``: STOP / START phrases (``keywords.yml``), the per-conversation preference, and the
  answer the channel worker gives a bare STOP / START before the classifier;
- ``delivery``: where a check-in goes (a widget patient's SMS or email contact) and the email outbox;
- ``chat``: the offer in chat, its consent, and when a yes answers it;
- ``worker``: send due check-ins once through the shared outbound table.
"""
