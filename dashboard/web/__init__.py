"""The web side: the app factory, HTTP routes, the Socket.IO namespaces, client-request
validation, login, origin and Host checks, exports and ``/metrics``.

Nothing is imported here: Flask must not load before the async mode's monkey-patching.
"""
