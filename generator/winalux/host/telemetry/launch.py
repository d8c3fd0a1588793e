"""Start the collector with `python -I -S launch.py`: no site-packages processing.

Site processing imports whatever the environment's .pth files name and can double the memory
of a small service. The collector needs only the standard library and this package, so the
launcher puts the folder that contains the `winalux` package on sys.path itself.
"""

import os
import sys

sys.path.insert(
    0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
)

from winalux.host.telemetry.__main__ import main  # noqa: E402

sys.exit(main())
