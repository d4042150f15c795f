"""The ``telsec`` command line: one entry point for every capability.

Results go to standard output (a table for people, ``--format json|jsonl`` for
machines) or to ``--out FILE``; progress and logs go to standard error.  Exit
status: 0 when the command did its work, 1 when it failed, 2 for a usage error.
"""
