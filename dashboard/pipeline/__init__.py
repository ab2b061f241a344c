"""One sample's trip up to the emit: plugins found, collectors set up, scheduled, run behind an
error boundary, their output validated, and fanned out to rooms by the hub.

Nothing heavy is imported here: the command line monkey-patches before any of it loads.
"""
