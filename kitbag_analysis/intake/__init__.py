"""Intake: source files into the study folder (study-data.md, "Intake").

`keys` makes and reads the LA's secret key; `ssda903` holds the DfE returns' codes and date
formats as data; `rawfiles` the raw files the LA hands in; `pseudonymise` turns a raw folder into
one LA's study folder; `combine` puts several LAs' folders together; `survey` takes a survey
platform's export into the measures files (emails kept apart for the prize draw). The synthetic
raw folders and survey exports (fixtures only) are in `synthetic` (`raw_folders`, `survey_exports`).
"""
