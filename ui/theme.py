"""The few style rules Streamlit's theme cannot express, injected once per page run.

- Captions and image captions in a colour that meets WCAG AA on the page's
  background (4.5:1; Streamlit's faded grey is about 3.9:1 on it).
- Compact metric rows (containers keyed ``metrics...``): values small enough
  that a row fits a tablet, wrapping rather than cutting text off ("70,00…").
- The main-area copy of the main settings shows only where the sidebar is
  hidden (phones); the legend's colour bars; page titles a size smaller, so the
  picture comes sooner.
- Compare's seed cards in columns of one width; Inspect's table of all units
  swapped for a static copy where it would need a sideways scroll.
"""

from __future__ import annotations

import streamlit as st

CAPTION_COLOUR = "#4d5864"  # 6.6:1 on the page (#fbfbf8), 6.0:1 on the sidebar (#eef1f4)
BUTTON_BACKGROUND = "#fbfbf8"
NARROW_PX = 768  # below this Streamlit collapses the sidebar
# Compare's seed cards: columns of one width, at least this wide (three a row on a wide
# screen, two on a tablet, one on a phone), so a seed alone on its row is no bigger.
SEED_CARD_PX = 260
# Inspect's table of all units needs about 540 px; narrower (a phone), its static copy shows.
UNITS_TABLE_PX = 560

_CSS = f"""
<style>
[data-testid="stCaptionContainer"], [data-testid="stImageCaption"],
[data-testid="stCaptionContainer"] p, [data-testid="stImageCaption"] p {{
    color: {CAPTION_COLOUR} !important; opacity: 1 !important;
}}
[class*="st-key-metrics"] [data-testid="stMetricValue"] {{ font-size: 1.6rem; }}
[class*="st-key-metrics"] {{ gap: 0.25rem 2rem !important; }}
[class*="st-key-metrics"] [data-testid="stMetricValue"] > div,
[class*="st-key-metrics"] [data-testid="stMetricLabel"] p {{
    overflow: visible; text-overflow: clip; white-space: nowrap;
}}
.st-key-seedcards, .st-key-seedcards_live {{
    display: grid !important;
    grid-template-columns: repeat(auto-fill, minmax(min(100%, {SEED_CARD_PX}px), 1fr));
}}
[data-testid="stMain"] h1 {{ font-size: 2.3rem; padding-top: 0.5rem; }}
@media (min-width: {NARROW_PX + 1}px) {{ .st-key-quick_settings {{ display: none; }} }}
.st-key-units_glance {{ container-type: inline-size; }}
@container (max-width: {UNITS_TABLE_PX - 1}px) {{ .st-key-units_wide {{ display: none; }} }}
@container (min-width: {UNITS_TABLE_PX}px) {{ .st-key-units_narrow {{ display: none; }} }}
.st-key-live_grid * {{ max-width: 100% !important; }}
.st-key-live_grid img {{ image-rendering: pixelated; height: auto !important; }}
.st-key-live_grid img {{ image-rendering: auto; }}  /* drawn full size now, numbered */
.mlp-legend {{ display: flex; flex-wrap: wrap; gap: 0.2rem 1.2rem; font-size: 0.85rem;
               color: {CAPTION_COLOUR}; }}
.mlp-legend > div {{ display: flex; align-items: center; gap: 0.35rem; }}
.mlp-legend i {{ display: inline-block; width: 4.5rem; height: 0.7rem;
                 border: 1px solid #9aa5b1; border-radius: 2px; }}
.mlp-legend b {{ font-weight: 600; }}
button.mlp-copy-link {{
    width: 100%; padding: 0.35rem 0.75rem; font: inherit; font-size: 0.95rem;
    color: inherit; background: {BUTTON_BACKGROUND}; border: 1px solid #c3ccd6;
    border-radius: 0.5rem; cursor: pointer;
}}
button.mlp-copy-link:hover {{ border-color: #3b6ea5; color: #3b6ea5; }}
</style>
"""


def apply() -> None:
    st.html(_CSS)
