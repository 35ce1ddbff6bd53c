import sys

from mlspec.cli import main

sys.exit(main())
