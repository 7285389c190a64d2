"""Reference networks for the riddles (instructors and tests only; never shipped to students)."""
