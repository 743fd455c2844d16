"""``make scale-test``: several Rasa and action-server replicas on PostgreSQL, Redis and nginx.

Modules: :mod:`scale.invariants` (what must hold, pure and unit-tested), :mod:`scale.cluster`
(starts the replicas and the shared services from Debian packages), :mod:`scale.load` (the
patients), :mod:`scale.__main__` (the run and its report).
"""
