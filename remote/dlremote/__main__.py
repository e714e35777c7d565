"""Allow ``python -m dlremote`` (with remote/ on sys.path)."""

import sys

from dlremote.cli import main

sys.exit(main())
