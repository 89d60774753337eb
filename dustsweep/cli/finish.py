"""End the console-script process without interpreter teardown, when that is safe.

After a command returned, tearing the interpreter down (freeing every module of the SDKs,
requests, rich, pydantic...) takes ~0.1 s of a ~0.5 s scan and writes nothing. So once the
output is flushed, the background writes (rules cache) are done, ``atexit`` handlers have run
(``logging.shutdown`` closes the log file) and no other thread is alive (the ledger, the run
lock and every pool are closed by then: they live in ``with`` blocks that the command left),
the process ends with ``os._exit``. Anything unusual (another thread still running, output that
cannot be flushed) takes the ordinary ``sys.exit`` road. Only ``cli.main`` (the console
script) calls this; tests call ``cli.run`` and keep their interpreter.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def finish(code: int) -> None:
    public_data = sys.modules.get("dustsweep.services.public_data")  # not imported by --help
    if public_data is not None:
        public_data.WRITES.drain()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: let the interpreter report it as usual
        sys.exit(code)
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(not t.daemon for t in others):
        sys.exit(code)
    atexit._run_exitfuncs()  # logging.shutdown and anything else registered
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        os._exit(code or 1)
    os._exit(code)
