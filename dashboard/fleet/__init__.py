"""Scale-out over Redis: agents on every watched host, any number of web processes.

An agent (``dashboard agent``) runs the collectors like ``run`` does, keeps its own history
file, and appends every sample to its host's Redis stream; after an outage it re-sends what
Redis missed from that file. A web process (``dashboard run`` with ``[queue] url``) reads
every host's stream, keeps history for all of them, and fans samples out to its own
browsers. Redis is the only broker; entries are JSON, validated like a collector's output.

Nothing heavy is imported here: the command line monkey-patches before any of it loads.
"""
