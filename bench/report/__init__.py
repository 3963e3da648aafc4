"""The evidence a run leaves for people: report.html with message ladders, bug bundles, secret redaction."""
