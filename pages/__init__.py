"""Streamlit pages: UI only. Data comes through ui.loading; charts from ui.charts."""
