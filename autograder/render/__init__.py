"""Showing results: text and Markdown reports, the HTML feedback page and scoreboard, figures.
"""
