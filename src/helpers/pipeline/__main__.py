"""``python -m helpers.pipeline``: see :mod:`helpers.pipeline.cli`."""

import sys

from helpers import paths
from helpers.pipeline.pool import start_early

# The warm process imports for seconds: start it before the runner's own imports.
start_early(sys.argv[1:], paths.KERNEL_NAME, paths.NOTEBOOKS, paths.DEMO_DATA)

from helpers.pipeline.cli import main  # noqa: E402

sys.exit(main())
