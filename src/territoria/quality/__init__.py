"""Qualification: rules, findings, quarantine workflow, quality scores and reports."""
