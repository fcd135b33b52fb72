"""Tiedolla's data sources: the source contract, the registry of source kinds, the adapters, the warehouse and the
refresh (command line: `python -m sources`). Never imports Streamlit, so it runs without the app."""
