"""``python -m grader.sandbox POLICY CONNECTION_FILE``: the kernel launcher (see :mod:`grader.sandbox.launcher`)."""

import sys

from .launcher import main

sys.exit(main())
