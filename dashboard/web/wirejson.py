"""The JSON codec for Socket.IO packets: strict on the way out, defensive on the way in.

Out: ``allow_nan=False`` — values are sanitized upstream, but should a NaN ever slip through
the emit fails loudly here instead of making socket.io-client drop the connection.
In: a payload nested deeper than the parser's recursion limit would raise RecursionError
deep inside python-socketio (a traceback, no answer). It becomes a ``MALFORMED`` event that
the namespace answers with an error ack, like any other bad request.
"""

from __future__ import annotations

import json
from typing import Any

MALFORMED = "__malformed__"


def dumps(obj: Any, **kwargs: Any) -> str:
    kwargs["allow_nan"] = False
    return json.dumps(obj, **kwargs)


def loads(text: str | bytes, **kwargs: Any) -> Any:
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        return [MALFORMED, "payload nested too deeply"]
