"""Results history: every run's verdicts, per unit and firmware, in one database across nights
(docs/history.md): the store, its migrations, the run-folder importer, the queries and their pages."""
