"""The state machines of the three workflows and the record lifecycle.

Pure Python: no Flask, no database. Defined once as data (states, triggers, guards by name,
SLA per state) with the ``transitions`` library.
"""
