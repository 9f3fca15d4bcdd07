"""What the pages share: the sidebar, the caches, the render helpers.

Importing it starts the trainings' fork server (``core.process.start_fork_server``): every
page imports ``ui`` first, so on a new server the fork server imports scikit-learn in its own
process while the page's first run imports the rest, and the first training starts without
waiting for it.
"""

from core.process import start_fork_server

start_fork_server()
