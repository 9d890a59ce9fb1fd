"""``python -m gradwork`` runs the ``gradwork`` command."""
import sys

from gradwork.cli.main import main

sys.exit(main())
