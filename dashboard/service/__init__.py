"""Running as a service: the serve loop (``run``), the agent loop (``agent``), sd_notify, the
systemd units, SIGHUP reloads, the stop on SIGTERM, and logging.

Nothing heavy is imported here: the command line monkey-patches before any of it loads.
"""
