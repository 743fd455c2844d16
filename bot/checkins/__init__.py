"""Proactive check-ins after a treatment: enrolment, consent, schedule, opt-out and the worker.

- ``content``: the check-in texts (``knowledge/checkins.yml``);
- ``schedule``: when each check-in is due, in clinic local time, as UTC moments;
- ``enrolment``: enrol a patient, record consent, pause/cancel, CSV import;
- ``optout``: STOP / START words and the per-conversation preference;
- ``worker``: send due check-ins once through the shared outbound table.
"""
