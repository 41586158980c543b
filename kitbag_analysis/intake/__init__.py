"""Intake: from a local authority's own systems to its study files (study-data.md, "Intake").

`keys` makes and reads the LA's secret key; `ssda903` holds the DfE returns' codes and date
formats as data; `pseudonymise` turns a raw folder into one LA's study folder; `combine` puts
several LAs' folders together; `raw_synth` writes synthetic raw folders (fixtures only).
"""
