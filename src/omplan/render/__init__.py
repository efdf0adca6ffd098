"""Layouts into spreadsheets: ``xlsx`` writes files (openpyxl), ``live`` writes xlwings books."""
