"""Files omplan writes or reads whole: report, writeback, template, .xlsm, sample, atomic saving."""
