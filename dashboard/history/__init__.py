"""History: the memory window, the tiers that answer a query, the SQLite chunk store, the
chunk codec, rollups, and the read-only inspection ``dashboard check`` prints.

Nothing heavy is imported here: the command line monkey-patches before any of it loads.
"""
