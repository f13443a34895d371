"""Helpers shared by the whole test suite, one of each kind (real parts, not mocks).

- ``clock``: ``ManualClock``, the one test clock (a monotonic clock and sleep moved by hand).
- ``video``: the synthetic picture, ``Camera`` (a real ``rtc.VideoSource`` fed by hand),
  ``RecordingSink``, ``settled()`` and ``feed()``.
- ``pgbouncer``: a real PgBouncer in front of the test PostgreSQL.
- ``tcp_proxy``: ``TcpProxy``, a TCP path a test cuts (reset, refuse) between client and server.
- ``pg15``: Debian's PostgreSQL 15 with TLS on, where TLS must be a real server's (also used by
  ``benchmarks/patient_lookup.py``).
"""
