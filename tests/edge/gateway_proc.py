"""Run a gateway in its own process, for kill -9 tests (python -m tests.edge.gateway_proc CFG)."""

from __future__ import annotations

import asyncio
import logging
import sys

from edge.app import Gateway, run_until_signalled
from edge.configfile import load_config
from tests.edge.sos_bank import sos_bank

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    gateway = Gateway(load_config(sys.argv[1]), bank_factory=sos_bank)
    asyncio.run(run_until_signalled(gateway))
