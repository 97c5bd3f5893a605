"""The broker boundary: Redis's key layout, every Lua script, and arq's internals live here and nowhere else.

- keys.py: every Redis key and channel name, and the job id's string form.
- decode.py: Redis replies as text and as awaited values.
- scripts.py: loads the Lua scripts (lua/), one way.
- connection.py: the Redis (and Sentinel) client arq and the platform share.
- jobs.py: arq's side of a job: task names and the serialised body.
- gate.py: the capacity gate's atomic steps (admission, leases, deferral, hand-back, cancel).
- stats.py: what the queue holds, read atomically for the fleet's gauges.
- breakers.py: circuit breakers' shared state (compare-and-set snapshots).
- ratelimit.py: the per-key request allowance (GCRA), one atomic step.
- worker.py: arq's worker as the fleet runs it (drain signal, Redis outages, dispatch wake-ups, presence).
"""
