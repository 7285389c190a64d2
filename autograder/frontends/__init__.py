"""Every way in: the notebook `check`, the CLI, nbgrader, the pytest plugin, Gradescope, class
grading with its store and gradebook, and the getting-started commands.
"""
