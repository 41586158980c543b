"""Intake: source files (survey platforms' exports, and the LAs' returns) into the study folder."""
