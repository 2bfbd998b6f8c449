"""Small documents written by the tests themselves, in every supported format."""

from __future__ import annotations

from fpdf import FPDF

GARDEN = (
    "Tending a vegetable garden\n\n"
    "Tomatoes need six hours of sun a day and deep watering twice a week. "
    "Mulch keeps the soil moist and stops weeds from growing between the rows.\n\n"
    "Harvest the tomatoes when they are fully red and slightly soft to the touch."
)
BREAD = (
    "# Baking sourdough bread\n\n"
    "A sourdough **starter** is flour and water fermented by wild yeast. "
    "Feed the starter every day and keep it at room temperature.\n\n"
    "## Shaping\n\nFold the dough, let it rise overnight, and bake it in a hot oven."
)
BIKE_HTML = """<!doctype html><html><head><title>Fixing a bicycle puncture</title>
<style>body { color: red }</style><script>var secret = "never indexed";</script>
<link rel="canonical" href="https://example.org/bike-repair"></head>
<body><nav>Home | About</nav><h1>Puncture repair</h1>
<p>Remove the wheel, take the inner tube out and find the hole by listening for air.</p>
<p>Roughen the rubber, apply glue, press the patch on and pump the tyre again.</p>
</body></html>"""
STARS = (
    "Telescopes gather light from distant stars and galaxies. A larger mirror collects more "
    "light, so faint nebulae become visible to astronomers observing the night sky."
)


def pdf_bytes(text: str, title: str) -> bytes:
    pdf = FPDF()
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())
