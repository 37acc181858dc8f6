"""``python -m servicecidr`` runs the command line."""

import sys

from servicecidr.cli import main

sys.exit(main())
