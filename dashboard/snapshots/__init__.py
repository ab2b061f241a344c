"""Process snapshots: the busiest processes at every scan, kept for the raw retention, so
the page can show what was running at any moment (README, "History").

Nothing heavy is imported here: the command line monkey-patches before any of it loads.
"""
