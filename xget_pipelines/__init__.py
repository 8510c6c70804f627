"""XGet: collect and analyse X data on Dagster and Delta Lake.

twscrape (a dependency: query ids, the transaction-id generator, its request loop in tests) must never
phone home from XGet: its telemetry is off before any of XGet's modules can import it. The same holds for
Hugging Face's libraries (the sentiment models): models come from packages or folders, never from a hub at
run time (``HF_HUB_OFFLINE=0`` where a hub is reachable allows hub ids), quietly. These are defaults for
third-party libraries, read when they are imported; a value already set wins.
"""

import os

os.environ.setdefault("TWS_TELEMETRY", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
