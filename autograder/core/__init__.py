"""The verdict: riddle specs, capture of a network's description, exact evaluation, line and
region analysis, verdicts and scores.  Pure functions; no processes, no files.
"""
