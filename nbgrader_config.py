"""nbgrader configuration: this repository is the course directory.

source/riddles/  ->  nbgrader generate_assignment riddles  ->  assignments/riddles/ (released)
submitted/<student>/riddles/  ->  nbgrader autograde riddles  ->  autograded/  ->  feedback/
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

from autograder.core.limits import DEFAULT as LIMITS
from autograder.frontends.nbgrader_plugin import RiddleScores

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "neuron-riddles"
c.CourseDirectory.root = os.environ.get("RIDDLES_COURSE_ROOT", HERE)
c.CourseDirectory.release_directory = "assignments"

# Student stubs: the solution region becomes this.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# The limits every front end grades with (autograder/core/limits.py): per cell in the kernel (and, read
# from here, in RiddleScores' sandbox), per notebook and per riddle call.  Training demos are
# skipped while grading.
c.Execute.timeout = int(LIMITS.cell)
c.Execute.interrupt_on_timeout = True

# Grade the riddle test cells outside the student's kernel, right after Execute.
c.Autograde.autograde_preprocessors = [
    Execute,
    RiddleScores,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.RiddleScores.timeout = LIMITS.notebook
c.RiddleScores.call_timeout = LIMITS.call
c.RiddleScores.memory_gib = LIMITS.memory_gib

# Feedback shows each riddle's report and figure, never the hidden test code.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
c.ClearHiddenTests.enforce_metadata = False

# Test cells a student deleted are put back (and edited ones overwritten) before grading.
c.OverwriteCells.add_missing_cells = True
