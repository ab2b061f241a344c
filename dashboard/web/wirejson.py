"""The JSON codec for Socket.IO packets: strict on the way out, defensive on the way in.

Out: ``allow_nan=False`` — values are sanitized upstream, but should a NaN ever slip through
the emit fails loudly here instead of making socket.io-client drop the connection. A sample
arrives already serialized (``Encoded``, made in the collector's worker thread) and is
written as it is: the event loop never re-encodes a payload.
In: a payload nested deeper than the parser's recursion limit would raise RecursionError
deep inside python-socketio (a traceback, no answer). It becomes a ``MALFORMED`` event that
the namespace answers with an error ack, like any other bad request.
"""

from __future__ import annotations

import json
from typing import Any

from dashboard.pipeline.payloads import Encoded

MALFORMED = "__malformed__"


def dumps(obj: Any, **kwargs: Any) -> str:
    kwargs["allow_nan"] = False
    if isinstance(obj, list) and any(isinstance(item, Encoded) for item in obj):
        # A packet's data is [event, *args]: splice prepared text in, encode the rest.
        parts = [i.text if isinstance(i, Encoded) else json.dumps(i, **kwargs) for i in obj]
        return "[" + ",".join(parts) + "]"
    return json.dumps(obj, **kwargs)


def loads(text: str | bytes, **kwargs: Any) -> Any:
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        return [MALFORMED, "payload nested too deeply"]
