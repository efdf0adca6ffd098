"""Reports as data: layout types, styles, one builder per sheet family; no spreadsheet library."""
