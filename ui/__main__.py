"""Start the dashboard: ``python -m ui [Streamlit's options]`` (what ``make run`` does) is
``streamlit run app.py``, readied for its first visitor.

- Importing ``ui`` starts the trainings' fork server (``ui/__init__.py``), which spends a few
  seconds importing scikit-learn in a process of its own.
- Once Streamlit's runtime is up, a thread imports what the Explore page imports (scikit-learn,
  SciPy, matplotlib: 2-3 s).

Both happen while nobody waits, so a first visitor's training starts as soon as the page has
loaded its data.
"""

import importlib
import logging
import sys
import threading
import time
from pathlib import Path

from streamlit import runtime
from streamlit.web import cli

APP = Path(__file__).resolve().parents[1] / "app.py"
EXPLORE_IMPORTS = ("core.process", "ui.cached", "ui.colours", "ui.evaluation", "ui.live",
                   "ui.render", "ui.replay", "ui.exports", "ui.sidebar")


def _ready_the_server() -> None:
    """Import Explore's modules, then wait for the fork server to fork a first (empty) process:
    the log says when both are done."""
    began = time.monotonic()
    while not runtime.exists():  # the modules' caches want the runtime
        time.sleep(0.05)
    for name in EXPLORE_IMPORTS:
        importlib.import_module(name)
    from core.process import configure_process, fork_server

    configure_process()
    first = fork_server().Process(target=time.sleep, args=(0,), name="mlp-ready")
    first.start()
    first.join()
    logging.getLogger("mlp_lens").info("ready for visitors: Explore's modules imported and "
                                       "the fork server started in %.1f s",
                                       time.monotonic() - began)


if __name__ == "__main__":
    threading.Thread(target=_ready_the_server, daemon=True, name="ready").start()
    sys.exit(cli.main(["run", str(APP), *sys.argv[1:]], prog_name="streamlit"))
