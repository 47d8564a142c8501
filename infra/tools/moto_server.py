"""moto's server, minus its dashboard's record of every DynamoDB item.

moto appends every model instance it ever creates to a list, for its dashboard and for
`/moto-api/data.json` (where the SMS outbox is read). DynamoDB items are created on every
write and never leave that list: the emulator's memory grows for as long as `make dev` runs,
and each outbox read serialises every item ever written, taking seconds while it holds the
emulator. Items are therefore not recorded; everything else (the SNS outbox included) is
moto's own behaviour. Arguments are moto_server's (`-H 127.0.0.1 -p 4566`).
"""

import sys

from moto.dynamodb.models.dynamo_type import Item


def _untracked(cls, *args, **kwargs):
    return object.__new__(cls)


Item.__new__ = staticmethod(_untracked)

from moto.server import main  # noqa: E402  (after the patch above)

if __name__ == "__main__":
    sys.exit(main())
