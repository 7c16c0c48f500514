"""Presentation shared by the front doors: dossier HTML, stage tables, reports."""
