"""What the seed workers' fork server imports first: the workers' code, and never a page.

Before it runs a child's target, multiprocessing re-runs the parent's main
script in the child as ``__mp_main__`` (so that functions defined there can be
unpickled). In a Streamlit server ``sys.modules['__main__']`` is the page being
run, so every seed worker would first run a whole page: load the data, train
the lesson's network nobody asked for, and warn about a missing script context.
The workers' target lives in ``core.jobs`` and needs nothing from
``__main__``, so in the fork server (imported only there, through
``set_forkserver_preload``), and so in every child forked from it, that step
does nothing.
"""

from multiprocessing import spawn

import core.jobs  # noqa: F401 - the workers' code, imported once for all of them


def _leave_main_alone(*_args) -> None:
    """Workers run their target only: the parent's main script is not run again."""


spawn._fixup_main_from_path = _leave_main_alone
spawn._fixup_main_from_name = _leave_main_alone
