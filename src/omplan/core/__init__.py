"""The pure core: plan model, findings, engine, ledger, advisories and figures. Knows no files."""
