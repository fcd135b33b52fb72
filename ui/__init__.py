"""Shared UI helpers: translation, the one loading module with all Streamlit caching, chart builders, exports."""
