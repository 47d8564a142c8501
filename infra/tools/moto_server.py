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
moto's own behaviour. Arguments are moto_server's (`-H 127.0.0.1 -p 4566`).
"""

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

from moto.server import main  # noqa: E402  (after the patch above)

if __name__ == "__main__":
    sys.exit(main())
