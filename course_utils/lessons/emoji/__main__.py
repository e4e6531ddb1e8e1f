"""``python -m course_utils.lessons.emoji``: the command line of :mod:`course_utils.lessons.emoji.cli`."""

import sys

from course_utils.lessons.emoji.cli import main

if hasattr(sys.stdout, "reconfigure"):
    sys.stdout.reconfigure(errors="replace")  # a terminal that cannot show emoji gets "?" instead
sys.exit(main())
