import sys

from triage.entry import main

sys.exit(main())
