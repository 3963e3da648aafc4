"""Verdicts from evidence: a timeline built from captures (`decode`, through tshark), judged by the clauses'
judge functions (`judges`), the same functions a live run calls; `henb-bench judge` and `rejudge` (`cli`)."""
