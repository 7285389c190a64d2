"""Running student code: the fork-server launcher, the jail around each notebook, the child
that runs the cells, and turning a notebook into a request and its runs into one answer.
"""
