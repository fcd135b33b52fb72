"""Indicator computation: regions and mergers, the catalogue, formulas and statistics. Never imports streamlit."""
