"""moto's server (moto.server.main, unchanged in all else), with one DynamoDB request at a time per table.

Why: DynamoDB makes each request atomic, a conditional write above all (the ledger's lease is one;
two deploys that try it at once must not both take it), and a transaction all-or-nothing. moto's
server answers requests on several threads, and its DynamoDB backend holds no lock: two
conditional writes at once can both pass their condition, and a transaction that fails puts back
a copy of the whole table it took before, undoing whatever another request wrote meanwhile. Tests
of the lease against that would test moto's races, not the driver. So DynamoDB's requests (those
with an X-Amz-Target of DynamoDB_...) are answered one at a time for each table they name; every
other service keeps moto's threads, as do requests on different tables (on AWS, a write to one
table never waits for another's).

And a transaction puts back only the items it names when it fails, not a copy of its tables: moto
copies a table whole before each transaction, which takes longer the more items it holds (0.1 ms
an item here: a ledger with a thousand runs made every transaction 117 ms, against 8 ms for an
UpdateItem). DynamoDB's own transactions take no longer in a bigger table, and the bench of the
ledger's cost measures the driver, not moto's copying. The result of a transaction is moto's, as
before: only its copy is narrower (its actions name items, and no two the same one).

Run as `<moto's python> motoServer.py -H 127.0.0.1 -p PORT` (test/support/moto.ts).
"""

import copy
import io
import json
import sys
import threading

import moto.dynamodb.models as dynamodb_models
import moto.server
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_answer = DomainDispatcherApplication.__call__
_locks = {}
_locks_lock = threading.Lock()


def _tables_named(body):
    """The tables a DynamoDB request names: TableName, or those of a batch or transaction; None: not known."""
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return None
    if isinstance(request.get("TableName"), str):
        return {request["TableName"]}
    named = set(request.get("RequestItems") or {})
    for action in request.get("TransactItems") or []:
        for op in action.values():
            if isinstance(op, dict) and isinstance(op.get("TableName"), str):
                named.add(op["TableName"])
    return named or None


def _lock(name):
    with _locks_lock:
        return _locks.setdefault(name, threading.Lock())


def _one_request_per_table_at_a_time(self, environ, start_response):
    if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        return _answer(self, environ, start_response)
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = environ["wsgi.input"].read(int(length))
    elif environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        body = environ["wsgi.input"].read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    tables = _tables_named(body)
    # Each table's lock, taken in one order so that two requests never wait for each other; a
    # request that names no table (ListTables, say) takes a lock of its own. A table named by its
    # ARN takes another lock than by its name: the driver and the tests name tables by name.
    held = []
    try:
        for name in sorted(tables) if tables else ["*"]:
            lock = _lock(name)
            lock.acquire()
            held.append(lock)
        # moto builds the whole response inside the call: the write is done when it returns.
        return _answer(self, environ, start_response)
    finally:
        for lock in reversed(held):
            lock.release()


DomainDispatcherApplication.__call__ = _one_request_per_table_at_a_time


class _TablesNotCopied:
    """Stands in for the copy module inside moto's DynamoDB backend while a transaction runs."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_transact = DynamoDBBackend.transact_write_items


def _item_snapshots(backend, transact_items):
    """Each named item as it is now: (table, hash key, range key, a copy of the item or None)."""
    snapshots = []
    for action in transact_items:
        _, op = next(iter(action.items()))
        table = backend.get_table(op["TableName"])
        key = op.get("Key") or {
            k: op["Item"][k] for k in (table.hash_key_attr, table.range_key_attr) if k is not None
        }
        hash_key, range_key = backend.get_keys_value(table, key)
        snapshots.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
    return snapshots


def _put_back(snapshots):
    for table, hash_key, range_key, item in reversed(snapshots):
        table.delete_item(hash_key, range_key)
        if item is None:
            continue
        if range_key is None:
            table.items[hash_key] = item
        else:
            table.items[hash_key][range_key] = item


# Transactions on different tables would otherwise run at once: the stand-in for the copy module
# is the backend module's, shared by every thread, so one transaction at a time swaps it.
_transactions = threading.Lock()


def _transact_putting_back_items(self, transact_items):
    with _transactions:
        try:
            snapshots = _item_snapshots(self, transact_items)
        except Exception:
            return _transact(self, transact_items)  # moto's own answer to a malformed one, its own way
        dynamodb_models.copy = _TablesNotCopied
        try:
            return _transact(self, transact_items)
        except Exception:
            _put_back(snapshots)
            raise
        finally:
            dynamodb_models.copy = copy


DynamoDBBackend.transact_write_items = _transact_putting_back_items

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
