"""Operations that write files (device re-map, warm-start, export, strip).

Each operation is a plan (what will change) and an apply (atomic write). No Qt here.
"""
