"""Start the Tiedolla app server: `python -m ui.serve [streamlit options]` (what `./tiedolla.sh run` calls).

It is `streamlit run app.py` with one correction. Streamlit treats a `pages/` folder beside the main script as a
legacy multipage app until `st.navigation` first runs, so the very first request after a server start is routed the
legacy way: a shared deep link (`/employment?...`) then shows a spurious "Page not found" dialog. The app always uses
`st.navigation`, so the server is told so before it starts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(arguments: list[str]) -> None:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *arguments]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
