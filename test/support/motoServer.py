"""moto's server (moto.server.main, unchanged in all else), with one request to DynamoDB at a time.

Why: DynamoDB makes each request atomic, a conditional write above all (the ledger's lease is one;
two deploys that try it at once must not both take it), and a transaction all-or-nothing. moto's
server answers requests on several threads, and its DynamoDB backend holds no lock: two
conditional writes at once can both pass their condition, and a transaction that fails puts back
a copy of the whole table it took before, undoing whatever another request wrote meanwhile. Tests
of the lease against that would test moto's races, not the driver. So DynamoDB's requests (those
with an X-Amz-Target of DynamoDB_...) are answered one at a time; every other service keeps
moto's threads.

Run as `<moto's python> motoServer.py -H 127.0.0.1 -p PORT` (test/support/moto.ts).
"""

import sys
import threading

import moto.server
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_dynamodb = threading.Lock()
_answer = DomainDispatcherApplication.__call__


def _one_dynamodb_request_at_a_time(self, environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with _dynamodb:
            # moto builds the whole response inside the call: the write is done when it returns.
            return _answer(self, environ, start_response)
    return _answer(self, environ, start_response)


DomainDispatcherApplication.__call__ = _one_dynamodb_request_at_a_time

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
