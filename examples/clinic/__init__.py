"""The clinic agent's parts, beside the worker in ``examples/clinic_agent.py``.

- ``settings``: the worker's settings, read once from the environment.
- ``database``: the patient database: connection, context lookup, avatar row, embedded server.
- ``call``: one call's model, session, streamer and tracker, built and finished.
- ``vision``: consent asked in the first turn, and the look_closely tool.
- ``demo``, ``console``, ``scripted_patient``: the offline demo.
"""
