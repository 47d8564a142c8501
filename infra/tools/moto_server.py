"""moto's server, with DynamoDB requests applied one at a time, without its dashboard's
record of every DynamoDB item, and without the work it repeats on every request.

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

Every AWS call of a test or a benchmark waits for this emulator, so its own time is in every
latency figure `make bench` reports. The patches below cut it without changing a byte of any
answer or error (`make test` checks it with moto_server_check.py, which sends the same
requests, conditional failures and malformed expressions included, to moto with and without
them): remembered lookups, attribute values written as they are, each expression parsed or
cut into tokens once, an update's tree walked and copied without the generic machinery, and
its tree-only checks run once per expression. Measured in `make bench`'s `/connection-details` loop: a BatchGetItem of a
session and a user went from 8.5 to 3.1 ms; a rate window's UpdateItem from 9.8 to about
6 ms, then by a further fifth (4.7 to 3.7 ms, timed in process without HTTP).
"""

import argparse
import functools
import logging
import sys
import threading
import weakref
from collections import deque
from copy import deepcopy

import moto.core.responses
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import (
    ActionCountValidator,
    OverlappingPathsValidator,
    UpdateExpressionValidator,
    Validator,
)
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_one_at_a_time = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialised(self):
    with _one_at_a_time:
        return _call_action(self)


DynamoHandler.call_action = _serialised


def _untracked(cls, *args, **kwargs):
    return object.__new__(cls)


Item.__new__ = staticmethod(_untracked)

# Two lookups moto repeats on every request although their answers never change while the
# server runs: which backend serves a host (it lists moto's package directory on disk each
# time), and which methods a response class has (`inspect.getmembers`). Together they were
# about a quarter of the emulator's CPU for a small GetItem.
moto.core.responses.method_names_from_class = functools.cache(
    moto.core.responses.method_names_from_class
)
_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_backends_by_host: dict = {}


def _remembered_backend(self, host):
    if host not in _backends_by_host:
        _backends_by_host[host] = _backend_for_host(self, host)
    return _backends_by_host[host]


DomainDispatcherApplication.get_backend_for_host = _remembered_backend

# moto parses an UpdateExpression twice per UpdateItem (once to check the names it uses,
# once to apply it). The tree it builds is only read: the validator that fills in the
# values works on its own deep copy. voicegate sends a handful of distinct expressions
# with fresh values, so each is parsed once.
UpdateExpressionParser.make = classmethod(
    functools.lru_cache(maxsize=1024)(UpdateExpressionParser.make.__func__)
)

# A ConditionExpression is cut into tokens with a dozen regular expressions on every
# request; the tokens of a given expression never change, so each is cut once. Every parse
# still gets fresh token nodes (later steps build on them).
_lex_condition = ConditionExpressionParser._lex_condition_expression
_condition_tokens: dict = {}


def _lexed_once(self):
    expression = self.condition_expression
    tokens = _condition_tokens.get(expression)
    if tokens is None:
        tokens = tuple((node.nonterminal, node.text) for node in _lex_condition(self))
        if len(_condition_tokens) < 1024:
            _condition_tokens[expression] = tokens
    return deque(
        self.Node(nonterminal=kind, kind=self.Kind.LITERAL, text=text, value=text, children=[])
        for kind, text in tokens
    )


ConditionExpressionParser._lex_condition_expression = _lexed_once

# Each pass over an UpdateExpression's tree rebuilt its table of node handlers (a dict of
# bound methods) twice per node it visited. The table belongs to the pass and never
# changes, so it is built once per pass.
def _handlers(self):
    table = self.__dict__.get("_handlers")
    if table is None:
        table = self.__dict__["_handlers"] = self._processing_map()
    return table


# The tree's node classes are abstract base classes, so each `isinstance` against them goes
# through `ABCMeta.__instancecheck__`: the ten passes over one UpdateItem's tree made about
# 1,800 such checks, a third of the emulator's time for that call. What a node's class is,
# and so which handler of a pass takes it, never changes: each is worked out once per class.
# The walk is otherwise moto's (`DepthFirstTraverser.traverse_node_recursively`), which
# reached the handlers through `nodes_to_be_processed` and `process`; no pass overrides them.
_node_classes: dict = {}


def _is_node_class(kind):
    known = _node_classes.get(kind)
    if known is None:
        known = _node_classes[kind] = issubclass(kind, Node)
    return known


def _handler_for(self, kind):
    by_class = self.__dict__.get("_by_class")
    if by_class is None:
        by_class = self.__dict__["_by_class"] = {}
    if kind not in by_class:
        by_class[kind] = next(
            (handler for base, handler in _handlers(self).items() if issubclass(kind, base)),
            None,
        )
    return by_class[kind]


def _traverse_node_recursively(self, node, child_id=-1):
    kind = type(node)
    if _is_node_class(kind):
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        handler = _handler_for(self, kind)
        if handler is not None:
            node = handler(node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
    return node


DepthFirstTraverser.traverse_node_recursively = _traverse_node_recursively

# The first two checks of an UpdateExpression (at most one clause of each kind; no path
# set twice) read nothing but the parsed tree and the attribute names, and change nothing.
# A tree that passed them with the same names passes again, so they run once per
# expression and names; an expression that fails them fails on every request, as before.
_validator_init = Validator.__init__
_tree_only_checks = (ActionCountValidator, OverlappingPathsValidator)
# Per parsed tree (held by the parser's cache, forgotten with it): the checks it passed.
_passed_checks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _validator_remembering_its_tree(self, expression, *args, **kwargs):
    _validator_init(self, expression, *args, **kwargs)
    self._parsed_tree = expression


def _validate_once_per_tree(self):
    names = tuple(sorted((self.expression_attribute_names or {}).items()))
    passed = _passed_checks.setdefault(self._parsed_tree, set())
    n = self.node_to_validate
    for processor in self.processors:
        check = (type(processor), names)
        if check in passed:  # holds tree-only checks only
            continue
        n = processor.traverse(n)
        if type(processor) in _tree_only_checks:
            passed.add(check)
    return n


UpdateExpressionValidator.__init__ = _validator_remembering_its_tree
UpdateExpressionValidator.validate = _validate_once_per_tree

# Every UpdateItem's validator deep-copies the parsed tree through `copy`'s generic,
# pickle-style path (a fifth of the emulator's time for the call). Node objects hold only
# their class name, their children and their parent, so each is copied directly, as moto
# already does for its attribute values (`DynamoType.__deepcopy__`). The copy is the same:
# one new node per node, children and parent pointing into the copy, other values
# deep-copied through the same memo.
_IMMUTABLE = (str, int, float, bool, type(None))


def _copy_node(self, memo):
    twin = object.__new__(type(self))
    memo[id(self)] = twin
    fields = twin.__dict__
    for name, value in self.__dict__.items():
        if type(value) in _IMMUTABLE:
            fields[name] = value
        elif type(value) is list and id(value) not in memo:
            copied = memo[id(value)] = []
            copied.extend(v if type(v) in _IMMUTABLE else deepcopy(v, memo) for v in value)
            fields[name] = copied
        else:
            fields[name] = deepcopy(value, memo)
    return twin


Node.__deepcopy__ = _copy_node

# moto writes every DynamoDB attribute value through its generic, model-driven serialiser,
# which tries up to a dozen aliases for each of the ten members of each value: three
# quarters of the emulator's time for a BatchGetItem of a user and a session. A string,
# number or boolean value is already in its wire form (`{"S": "..."}`), so it is copied as
# is: exactly what the serialiser would write. Lists, maps and binary values still take
# moto's own path.
_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_serialize_structure = BaseJSONSerializer._serialize_type_structure


def _attribute_value_as_is(self, serialized, value, shape, key):
    if key and shape.name == "AttributeValue" and isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()
        if isinstance(inner, _SCALARS.get(kind, ())):
            serialized[key] = {kind: inner}
            return
    _serialize_structure(self, serialized, value, shape, key)


BaseJSONSerializer._serialize_type_structure = _attribute_value_as_is

import waitress  # noqa: E402
from moto.moto_server.werkzeug_app import create_backend_app  # noqa: E402


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
