"""XGet: collect and analyse X data on Dagster and Delta Lake.

twscrape (a dependency: query ids, the transaction-id generator, its request loop in tests) must never
phone home from XGet: its telemetry is off before any of XGet's modules can import it.
"""

import os

os.environ.setdefault("TWS_TELEMETRY", "0")
