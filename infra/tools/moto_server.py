"""moto's server, with DynamoDB requests applied one at a time and without its dashboard's
record of every DynamoDB item.

Real DynamoDB applies the writes to an item one at a time, so of N parallel conditional writes
exactly the allowed number succeed. moto's threaded server takes no lock: two writes can both
read the old item and both pass their condition (seen here: 6 winners of a limit of 5). The
race tests check exactly those invariants, so DynamoDB requests are serialised here.

moto also appends every model instance it ever creates to a list, for its dashboard and for
`/moto-api/data.json` (where the SMS outbox is read). DynamoDB items are created on every
write and never leave that list: the emulator's memory grows for as long as `make dev` runs,
and each outbox read serialises every item ever written, taking seconds while it holds the
emulator. Items are therefore not recorded; everything else (the SNS outbox included) is
moto's own behaviour.

Served by waitress, not moto_server's werkzeug development server: werkzeug answers every
request with `Connection: close`, so each AWS call paid a new TCP connection and a new server
thread (measured: 8 ms and 0.55 ms of the caller's CPU per GetItem, against 3 ms and 0.27 ms
over a kept-alive connection). DynamoDB, SNS and Secrets Manager keep connections alive, as
the SDK clients expect, so the emulator does too. Arguments: `-H 127.0.0.1 -p 4566`.
"""

import argparse
import logging
import sys
import threading

from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.responses import DynamoHandler

_one_at_a_time = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialised(self):
    with _one_at_a_time:
        return _call_action(self)


DynamoHandler.call_action = _serialised


def _untracked(cls, *args, **kwargs):
    return object.__new__(cls)


Item.__new__ = staticmethod(_untracked)

import waitress  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402  (after the patches above)
    DomainDispatcherApplication,
    create_backend_app,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=4566)
    args = parser.parse_args()
    logging.getLogger("waitress").setLevel(logging.ERROR)
    waitress.serve(
        DomainDispatcherApplication(create_backend_app),
        host=args.host,
        port=args.port,
        # Parallel tests and load runs hold many clients' pools open at once.
        threads=16,
        connection_limit=2000,
        # Longer than the SDK's idle-connection timeout, so the client, never the
        # server, closes an idle connection (no request racing a server-side close).
        channel_timeout=600,
        ident="moto",
    )


if __name__ == "__main__":
    sys.exit(main())
