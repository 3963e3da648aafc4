"""TS 32.593 test plans, one module per procedure clause."""
