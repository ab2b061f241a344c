"""Running as a service: the serve loop, sd_notify, the systemd unit, SIGHUP reloads, the
stop on SIGTERM, and logging.

Nothing heavy is imported here: the command line monkey-patches before any of it loads.
"""
