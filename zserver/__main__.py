"""`python -m zserver` runs the unikat command."""

import sys

from zserver.cli import main

sys.exit(main())
